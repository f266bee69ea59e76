"""Settings for benchmarks/page_load.py: the product's, with the URLs of benchmarks/page_load_floor.py."""

from needlepoint.settings import *  # noqa: F403  the product's settings, unchanged but for the URLs

ROOT_URLCONF = "page_load_floor"
