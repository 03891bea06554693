"""The daemon's HTTP endpoint, scraped with a real client; /metrics parsed with
prometheus_client's own parser; ``scrape healthcheck`` both ways."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import Project, clean_env
from newsfixtures import article_page, make_story, rss2
from servicetools import (
    RunningDaemon,
    all_labels,
    free_port,
    metric,
    require,
    sample_names,
    wait_for,
)

from scraper.service import Check, Service, probe, probe_host, route

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FEED = "https://news.example.test/rss.xml"
DOWN = "https://down.example.test/rss.xml"


def healthcheck(project: Project) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        project.command("healthcheck"),
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
        timeout=30,
    )


def test_endpoints_metrics_and_healthcheck_of_a_running_daemon(project: Project) -> None:
    stories = [
        make_story("https://news.example.test", n, T0 + timedelta(minutes=n)) for n in (1, 2)
    ]
    for s in stories:
        project.site.add(s.url, article_page(s))
    project.site.add(FEED, rss2(stories), content_type="application/rss+xml")
    project.site.add(DOWN, "down for maintenance", status=503, content_type="text/plain")
    port = free_port()
    require("git", "git")
    subprocess.run(["git", "init", "-q", str(project.root)], check=True, env=clean_env())
    project.write_config(
        [
            {"name": "rss", "url": FEED, "interval": "1h"},
            {"name": "down", "url": DOWN, "interval": "1h"},
        ],
        service={"enabled": True, "port": port},
        git={"commit": True},
    )
    base = f"http://127.0.0.1:{port}"
    daemon = RunningDaemon(project)
    try:
        with httpx.Client(base_url=base, trust_env=False, timeout=5) as client:

            def polled_both() -> bool:
                try:
                    text = client.get("/metrics").text
                except httpx.TransportError:
                    return False
                return (
                    metric(text, "scraper_polls_total", source="rss", outcome="ok") == 1
                    and metric(text, "scraper_polls_total", source="down", outcome="failed") == 1
                )

            assert wait_for(polled_both, 30), daemon.logs()
            started = time.time()

            health = client.get("/healthz")
            assert health.status_code == 200
            assert health.json() == {"status": "ok"}

            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            checks = ready.json()["checks"]
            assert set(checks) == {"config", "state", "scheduler", "rules"}
            assert checks["rules"]["detail"] == "no stale rule"
            assert all(c["ok"] for c in checks.values())
            assert "2 sources" in checks["config"]["detail"]

            answer = client.get("/metrics")
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/plain; version=")
            text = answer.text
            assert metric(text, "scraper_articles_written_total", source="rss") == 2
            # news.example.test has no site rule: the generic extractor is a fallback
            fallbacks = metric(
                text, "scraper_extraction_fallbacks_total", source="rss", method="generic"
            )
            assert fallbacks == 2
            assert (metric(text, "scraper_http_responses_total", code="200") or 0) >= 3
            assert (metric(text, "scraper_http_responses_total", code="503") or 0) >= 1
            assert metric(text, "scraper_fetch_errors_total", reason="http_503") == 1
            assert (metric(text, "scraper_fetched_bytes_total") or 0) > 1000
            last = metric(text, "scraper_source_last_success_timestamp_seconds", source="rss")
            assert last is not None and started - 60 < last <= started + 1
            assert metric(text, "scraper_source_consecutive_failures", source="down") == 1
            assert metric(text, "scraper_source_consecutive_failures", source="rss") == 0
            assert metric(text, "scraper_queue_depth") == 0
            assert metric(text, "scraper_poll_duration_seconds_count", source="rss") == 1
            assert metric(text, "scraper_article_duration_seconds_count") == 2
            assert (metric(text, "scraper_fetch_duration_seconds_count") or 0) >= 4
            buckets = list(all_labels(text, "scraper_poll_duration_seconds_bucket"))
            assert {"source": "rss", "le": "+Inf"} in buckets
            assert "process_resident_memory_bytes" in sample_names(text)

            # OpenMetrics when asked for it, as Prometheus may
            om = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
            assert om.headers["content-type"].startswith("application/openmetrics-text")
            assert om.text.rstrip().endswith("# EOF")

            assert client.head("/healthz").status_code == 200
            assert client.head("/healthz").content == b""
            assert client.get("/nope").status_code == 404
            assert client.post("/healthz").status_code == 405

        # The daemon committed the poll that wrote files.
        def git_log() -> str:
            return subprocess.run(
                ["git", "log", "--format=%s", "--name-only"],
                cwd=project.root,
                capture_output=True,
                text=True,
                check=False,
                env=clean_env(),
            ).stdout

        assert wait_for(lambda: git_log().startswith("Archive 2 articles: rss (2)\n"), 10)
        assert git_log().count("archive/_posts/") == 2

        probe_result = healthcheck(project)
        assert probe_result.returncode == 0, probe_result.stdout
        assert f"127.0.0.1:{port}/healthz answered 200" in probe_result.stdout
    finally:
        code = daemon.stop()
    assert code == 0, daemon.logs()
    after = healthcheck(project)
    assert after.returncode == 1
    assert "unhealthy: no answer" in after.stdout


def test_port_in_use_is_a_clear_failure(project: Project) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        project.site.add(FEED, rss2([]), content_type="application/rss+xml")
        project.write_config(
            [{"name": "rss", "url": FEED}], service={"enabled": True, "port": port}
        )
        result = project.scrape("run", timeout=30)
    assert result.returncode == 1
    assert "service.failed" in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr


def test_healthcheck_without_the_service_reads_the_heartbeat(project: Project) -> None:
    project.write_config([{"name": "rss", "url": FEED}])
    result = healthcheck(project)
    assert result.returncode == 1
    assert "no scheduler heartbeat" in result.stdout
    heartbeat = project.state.with_name(project.state.name + ".heartbeat")
    heartbeat.parent.mkdir(parents=True)
    heartbeat.write_text("now", encoding="ascii")
    result = healthcheck(project)
    assert result.returncode == 0, result.stdout


# -- the server alone -------------------------------------------------------------


def test_route_answers() -> None:
    def ready() -> dict[str, Check]:
        return {"state": Check(False, "read-only"), "config": Check(True, "ok")}

    status, content_type, body = route("GET", "/readyz?verbose=1", ready, None)
    assert status == 503 and content_type.startswith("application/json")
    assert json.loads(body)["checks"]["state"] == {"ok": False, "detail": "read-only"}
    assert route("GET", "/metrics", ready, None)[0] == 404  # no metrics source
    assert route("DELETE", "/healthz", ready, None)[0] == 405
    assert route("GET", "/metrics", ready, lambda accept: (accept.encode(), "x/y"), "a/b") == (
        200,
        "x/y",
        b"a/b",
    )


def test_probe_host() -> None:
    assert probe_host("0.0.0.0") == "127.0.0.1"
    assert probe_host("::") == "::1"
    assert probe_host("127.0.0.2") == "127.0.0.2"


def test_server_survives_garbage_slow_clients_and_a_failing_probe() -> None:
    def broken() -> dict[str, Check]:
        raise RuntimeError("boom")

    async def scenario() -> None:
        service = Service("127.0.0.1", free_port(), ready=broken, metrics=None)
        await service.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
            writer.write(b"NONSENSE\r\n\r\n")
            await writer.drain()
            assert (await reader.read()).startswith(b"HTTP/1.1 400 ")
            writer.close()
            # a client that sends half a request and goes away
            _, half = await asyncio.open_connection("127.0.0.1", service.port)
            half.write(b"GET /healthz HTTP/1.1\r\n")
            half.close()
            ok, said = await asyncio.to_thread(probe, "127.0.0.1", service.port, "/readyz")
            assert not ok and "500" in said
            ok, said = await asyncio.to_thread(probe, "127.0.0.1", service.port, "/healthz")
            assert ok, said
        finally:
            await service.close()
        ok, said = await asyncio.to_thread(probe, "127.0.0.1", service.port, "/healthz", 2.0)
        assert not ok and "no answer" in said

    asyncio.run(scenario())


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_probe_reaches_the_bound_address(host: str) -> None:
    async def scenario() -> None:
        service = Service(host, free_port(), ready=dict, metrics=None)
        try:
            await service.start()
        except OSError:
            pytest.skip(f"cannot bind {host} here")
        try:
            ok, said = await asyncio.to_thread(probe, host, service.port)
            assert ok, said
        finally:
            await service.close()

    asyncio.run(scenario())
