"""Settings helpers read the environment and fail loudly, naming the variable, on a value they cannot use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from needlepoint.env import env_bool, env_int, env_list, env_str

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch):
    """Set variables for one test; NP_TEST_* names keep clear of real settings."""
    for name in list(os.environ):
        if name.startswith("NP_TEST_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_a_missing_variable_gives_the_default(env) -> None:
    assert env_str("NP_TEST_NAME", "fallback") == "fallback"
    assert env_bool("NP_TEST_FLAG", True) is True
    assert env_int("NP_TEST_NUMBER", 7) == 7
    assert env_list("NP_TEST_LIST", ["a"]) == ["a"]


def test_an_empty_variable_gives_the_default_for_numbers_flags_and_lists(env) -> None:
    for name in ("NP_TEST_FLAG", "NP_TEST_NUMBER", "NP_TEST_LIST"):
        env.setenv(name, "")

    assert env_bool("NP_TEST_FLAG", False) is False
    assert env_int("NP_TEST_NUMBER", 7) == 7
    assert env_list("NP_TEST_LIST", ["a"]) == ["a"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        (" On ", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
    ],
)
def test_a_flag_reads_the_usual_spellings(env, raw: str, expected: bool) -> None:
    env.setenv("NP_TEST_FLAG", raw)

    assert env_bool("NP_TEST_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "t", "enabled"])
def test_a_flag_that_is_neither_true_nor_false_stops_start_up(env, raw: str) -> None:
    env.setenv("NP_TEST_FLAG", raw)

    with pytest.raises(ImproperlyConfigured, match=f"Unexpected value NP_TEST_FLAG='{raw}': use true or false"):
        env_bool("NP_TEST_FLAG", False)


def test_a_number_is_read_as_a_whole_number(env) -> None:
    env.setenv("NP_TEST_NUMBER", "30")

    assert env_int("NP_TEST_NUMBER", 15, minimum=1) == 30


@pytest.mark.parametrize("raw", ["fifteen", "1.5", "15m", "0x10"])
def test_a_number_that_is_not_a_whole_number_stops_start_up(env, raw: str) -> None:
    env.setenv("NP_TEST_NUMBER", raw)

    with pytest.raises(ImproperlyConfigured, match=f"Unexpected value NP_TEST_NUMBER='{raw}': use a whole number"):
        env_int("NP_TEST_NUMBER", 15)


def test_a_number_below_its_minimum_stops_start_up(env) -> None:
    env.setenv("NP_TEST_NUMBER", "0")

    with pytest.raises(ImproperlyConfigured, match="NP_TEST_NUMBER=0 is below the minimum of 1"):
        env_int("NP_TEST_NUMBER", 15, minimum=1)


def test_a_list_is_split_on_commas_and_trimmed(env) -> None:
    env.setenv("NP_TEST_LIST", " clinic.example , ,www.clinic.example,")

    assert env_list("NP_TEST_LIST", []) == ["clinic.example", "www.clinic.example"]


def test_a_secret_can_be_read_from_a_file(env, tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value\n")
    env.setenv("NP_TEST_SECRET_FILE", str(secret))

    assert env_str("NP_TEST_SECRET") == "s3cret-value"


def test_the_file_wins_over_the_plain_variable(env, tmp_path) -> None:
    (tmp_path / "n").write_text("42")
    env.setenv("NP_TEST_NUMBER", "1")
    env.setenv("NP_TEST_NUMBER_FILE", str(tmp_path / "n"))

    assert env_int("NP_TEST_NUMBER", 7) == 42


def test_an_unreadable_secret_file_stops_start_up(env, tmp_path) -> None:
    env.setenv("NP_TEST_SECRET_FILE", str(tmp_path / "missing"))

    with pytest.raises(ImproperlyConfigured, match=r"NP_TEST_SECRET_FILE=.*missing cannot be read"):
        env_str("NP_TEST_SECRET")


# The settings module itself, loaded in a fresh interpreter as a server would load it.


def load_settings(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Start Django with these variables and print the settings that matter here, or fail as start-up would."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SESSION_", "SCREENING_", "LOGIN_", "DEBUG", "SECRET_KEY", "DATABASE_URL", "FHIR_"))
    }
    environment |= {"NEEDLEPOINT_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "needlepoint.settings"}
    environment |= variables
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_AGE, s.SCREENING_VALID_DAYS, s.LOGIN_FAILURE_LIMIT, s.DEBUG, "
        "s.FHIR_TRANSACTION_MAX_BYTES)"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_the_settings_defaults(tmp_path) -> None:
    started = load_settings(tmp_path, SECRET_KEY="k")

    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["900", "90", "5", "False", str(20 * 1024 * 1024)]
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert "| `FHIR_TRANSACTION_MAX_MB` | 20 |" in readme


def test_the_fhir_transaction_limit_comes_from_the_environment(tmp_path) -> None:
    started = load_settings(tmp_path, SECRET_KEY="k", FHIR_TRANSACTION_MAX_MB="50")
    refused = load_settings(tmp_path, SECRET_KEY="k", FHIR_TRANSACTION_MAX_MB="0")

    assert started.returncode == 0, started.stderr
    assert started.stdout.split()[4] == str(50 * 1024 * 1024)
    assert refused.returncode != 0 and "FHIR_TRANSACTION_MAX_MB=0 is below the minimum of 1" in refused.stderr


def test_the_idle_minutes_and_screening_days_come_from_the_environment(tmp_path) -> None:
    started = load_settings(tmp_path, SECRET_KEY="k", SESSION_IDLE_MINUTES="5", SCREENING_VALID_DAYS="30")

    assert started.returncode == 0, started.stderr
    assert started.stdout.split()[:2] == ["300", "30"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES=0 is below the minimum of 1"),
        ({"SESSION_IDLE_MINUTES": "quarter-hour"}, "Unexpected value SESSION_IDLE_MINUTES='quarter-hour'"),
        ({"DEBUG": "sometimes"}, "Unexpected value DEBUG='sometimes': use true or false"),
        ({"SCREENING_VALID_DAYS": "-1"}, "SCREENING_VALID_DAYS=-1 is below the minimum of 1"),
        ({"LOGIN_FAILURE_LIMIT": "five"}, "Unexpected value LOGIN_FAILURE_LIMIT='five'"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(tmp_path, variables, message: str) -> None:
    started = load_settings(tmp_path, SECRET_KEY="k", **variables)

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert message in started.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path) -> None:
    started = load_settings(tmp_path)

    assert started.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in started.stderr


def test_development_starts_without_a_secret_key(tmp_path) -> None:
    started = load_settings(tmp_path, DEBUG="true")

    assert started.returncode == 0, started.stderr
    assert started.stdout.split()[3] == "True"
