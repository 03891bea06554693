"""The hostile world: a misbehaving web on 127.0.0.1 and the tests that play it
against the real ``scrape`` process (issue 4).

``server`` is the site (reusable by benchmarks: ``sys.path.insert(0, "tests")``,
then ``from hostile.server import HostileSite``); ``world`` builds the hostile feeds,
pages and bodies it serves; ``checks`` holds the invariants every run must keep;
``crash`` the kill -9 loop shared by the test and ``stress/kill9.py``.
"""
