# scraper: the archive daemon. Config, archive and state live under /data:
#   docker run -v $PWD/config.yaml:/data/config.yaml:ro \
#              -v $PWD/archive:/data/archive -v scraper-state:/data/state scraper
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git (and ssh, for pushing over SSH) for `git: {commit: true}`. The archive is
# usually a bind-mounted repository owned by a host user, not by this image's
# user: trusting every repository is what makes git work on it at all, and the
# only repositories this container sees are the ones mounted into it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scraper ./scraper
# the cluster extra (psycopg, procrastinate): `docker run … scraper worker`
RUN pip install '.[cluster]' \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin scraper \
 && mkdir -p /data/archive /data/state \
 && chown -R scraper:scraper /data

COPY --chown=scraper:scraper config.yaml /data/config.yaml
WORKDIR /data
USER scraper
ENV SCRAPER_CONFIG=/data/config.yaml \
    SCRAPER_LOG_FORMAT=json
VOLUME ["/data/archive", "/data/state"]

# `scrape healthcheck` asks the daemon's /healthz when the config enables the
# service (the default config does, on 127.0.0.1:9464); otherwise it checks that
# the scheduler touched <state_path>.heartbeat in the last two minutes.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["scrape", "healthcheck"]

# Exec form: scrape is PID 1's child-free self and receives SIGTERM directly.
ENTRYPOINT ["scrape"]
CMD ["run"]
