"""``images: download``: article images copied into archive/assets/, through the
real CLI and fetcher against the loopback site; and the pure helpers."""

from __future__ import annotations

import struct
import subprocess
import zlib
from datetime import UTC, datetime
from html import escape

import pytest
from conftest import Project, clean_env
from newsfixtures import Story, make_story, rss2
from servicetools import require

from scraper.images import (
    ImageRefused,
    asset_relpath,
    checked_image,
    image_sources,
    sniff,
    with_sources,
)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOST = "https://news.example.test"
FEED = f"{HOST}/rss.xml"


def png(red: int, padding: int = 0) -> bytes:
    """A real 1×1 PNG (plus an optional ancillary chunk to make it bigger)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, red, 0, 0]))
    extra = chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"


def page_with_images(story: Story, images: list[str]) -> str:
    figures = "\n".join(
        f'<figure><img src="{src}" alt="picture {i}"><figcaption>Caption {i}</figcaption></figure>'
        for i, src in enumerate(images)
    )
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(story.title)}</title>
<meta property="article:published_time" content="{story.published.isoformat()}"></head>
<body><nav><a href="/">Home</a></nav><main><article><h1>{escape(story.title)}</h1>
{figures}
{paragraphs}
</article></main></body></html>"""


def serve(project: Project) -> list[Story]:
    site = project.site
    site.add(f"{HOST}/img/a.png", png(200), content_type="image/png")
    site.add(f"{HOST}/img/a-copy.png?w=640&h=480", png(200), content_type="image/png")
    site.add(f"{HOST}/img/b.jpg", JPEG, content_type="image/jpeg")
    site.add(f"{HOST}/img/page.png", "<html>not an image</html>", content_type="text/html")
    site.add(f"{HOST}/img/lying.png", "<html>lies</html>", content_type="image/png")
    site.add(f"{HOST}/img/huge.png", png(1, padding=50_000), content_type="image/png")
    site.add(
        f"{HOST}/img/x.svg",
        "<svg xmlns='http://www.w3.org/2000/svg'/>",
        content_type="image/svg+xml",
    )
    one, two = (make_story(HOST, n, T0) for n in (1, 2))
    site.add(
        one.url,
        page_with_images(
            one,
            [
                "/img/a.png",
                "/img/b.jpg",
                "/img/missing.png",
                "/img/page.png",
                "/img/lying.png",
                "/img/huge.png",
                "/img/x.svg",
            ],
        ),
    )
    site.add(two.url, page_with_images(two, ["/img/a-copy.png?w=640&h=480"]))
    site.add(FEED, rss2([one, two]), content_type="application/rss+xml")
    return [one, two]


def test_images_are_stored_once_and_failures_keep_the_remote_address(project: Project) -> None:
    one, two = serve(project)
    project.write_config([{"name": "rss", "url": FEED}], images="download", image_max_size="20kB")
    result = project.scrape("--once")
    assert result.returncode == 0, result.stdout + result.stderr  # images never fail articles

    assets = sorted(
        p.relative_to(project.archive).as_posix()
        for p in (project.archive / "assets").rglob("*")
        if p.is_file()
    )
    a_path = asset_relpath(png(200), "png", 2026)
    assert assets == sorted([a_path, asset_relpath(JPEG, "jpg", 2026)])
    assert (project.archive / a_path).read_bytes() == png(200)

    posts = {
        p.read_text(encoding="utf-8").split("\nfrom: ")[1].split("\n")[0]: p.read_text(
            encoding="utf-8"
        )
        for p in project.posts()
    }
    first, second = posts[one.url], posts[two.url]
    assert f'src="/{a_path}"' in first
    assert f'src="/{asset_relpath(JPEG, "jpg", 2026)}"' in first
    for kept in ("missing.png", "page.png", "lying.png", "huge.png", "x.svg"):
        assert f'src="{HOST}/img/{kept}"' in first, kept
    assert f'src="/{a_path}"' in second  # same bytes, same file
    assert "Caption 0" in first  # captions stay with their images
    log = result.stderr
    assert log.count("image.failed") == 5
    assert "HTTP 404" in log and "not an image (text/html)" in log
    assert "not a JPEG, PNG, GIF, WebP or AVIF image (image/png)" in log
    assert "image cap" in log and "image/svg+xml" in log

    # The archive's own index (from: lines of posts) is not disturbed by assets.
    again = project.scrape("--once")
    assert again.returncode == 0
    assert "0 new articles" in again.stdout
    assert len(project.posts()) == 2


def test_image_base_url_makes_the_sources_absolute(project: Project) -> None:
    one, _ = serve(project)
    project.write_config(
        [{"name": "rss", "url": FEED}],
        images="download",
        image_base_url="https://me.github.io/archive",  # a project site, not at the root
    )
    result = project.scrape("--once")
    assert result.returncode == 0, result.stdout + result.stderr
    first = next(p for p in project.posts() if one.url in p.read_text(encoding="utf-8"))
    text = first.read_text(encoding="utf-8")
    assert f'src="https://me.github.io/archive/{asset_relpath(png(200), "png", 2026)}"' in text
    assert 'src="/assets/' not in text


def test_git_commit_includes_the_images(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    require("git", "git")
    serve(project)
    home = tmp_path_factory.mktemp("home")
    env = {**clean_env(), "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project.root, check=True, env=env)
    project.write_config([{"name": "rss", "url": FEED}], images="download", git={"commit": True})
    result = subprocess.run(
        project.command("--once"),
        capture_output=True,
        text=True,
        env=env,
        cwd=project.root,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    show = subprocess.run(
        ["git", "show", "--name-only", "--format=%B", "HEAD"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert "Archive 2 articles: rss (2)" in show
    assert "With 3 images." in show  # a.png, b.jpg and huge.png (no cap given here)
    assert show.count("archive/assets/2026/") == 3
    assert show.count("archive/_posts/") == 2


def test_image_sources_and_rewrite() -> None:
    body = (
        '<p>x</p>\n<figure><img src="https://e.test/a.png?x=1&amp;y=2" alt="a"></figure>\n'
        '<p><img alt="b" src="https://e.test/b.jpg"> <img src="data:image/png;base64,AA"></p>\n'
        '<p><img src="https://e.test/a.png?x=1&amp;y=2"></p>'
    )
    assert image_sources(body) == ["https://e.test/a.png?x=1&y=2", "https://e.test/b.jpg"]
    out = with_sources(body, {"https://e.test/a.png?x=1&y=2": "/assets/2026/ab.png"})
    assert out.count('src="/assets/2026/ab.png"') == 2
    assert 'src="https://e.test/b.jpg"' in out and "data:image/png" in out
    assert out.count("\n") == body.count("\n")  # the body's one-block-per-line shape stays


def test_sniff_and_checks() -> None:
    assert sniff(png(1)) == "image/png"
    assert sniff(JPEG) == "image/jpeg"
    assert sniff(b"GIF89a....") == "image/gif"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"\x00\x00\x00\x1cftypavif") == "image/avif"
    assert sniff(b"<svg") is None
    assert checked_image(png(1), "image/jpeg", 10_000) == "png"  # the bytes decide the type
    with pytest.raises(ImageRefused, match="not an image"):
        checked_image(png(1), "application/octet-stream", 10_000)
    with pytest.raises(ImageRefused, match="cap"):
        checked_image(png(1), "image/png", 10)
    assert asset_relpath(b"x", "png", 987) == "assets/0987/2d711642b726b044.png"
