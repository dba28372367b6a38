"""Settings: flags over environment over YAML file, and secrets never printed."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskline.cli import app
from taskline.config import Settings, load_settings


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "taskline.yaml"
    path.write_text("port: 7000\nlease_seconds: 10\nredis_url: redis://:hunter2@cache:6379/0\n")
    return path


def test_flags_override_environment_which_overrides_the_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKLINE_PORT", "9000")

    from_file_and_env = load_settings(config_file)
    with_flag = load_settings(config_file, port=1234)

    assert (from_file_and_env.port, from_file_and_env.lease_seconds) == (9000, 10)
    assert with_flag.port == 1234


def test_the_config_file_can_come_from_the_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINE_CONFIG", str(config_file))

    assert load_settings().port == 7000


def test_defaults_match_the_spec(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()

    assert (settings.host, settings.port, settings.lease_seconds, settings.max_queue_size) == (
        "127.0.0.1",
        8080,
        30,
        1_000_000,
    )
    assert (settings.rate_limit_rps, settings.rate_limit_burst, settings.key_roles()) == (1000, 2000, {})


def test_masked_hides_secrets_and_url_passwords(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINE_API_KEYS", "sekrit:admin")
    monkeypatch.setenv("TASKLINE_SMTP_PASSWORD", "mailpass")

    shown = load_settings(config_file).masked()

    assert shown["redis_url"] == "redis://:***@cache:6379/0"
    assert shown["api_keys"] == "***"
    assert shown["smtp_password"] == "***"
    assert "hunter2" not in repr(shown)
    assert "sekrit" not in repr(shown)
    assert "mailpass" not in repr(shown)


def test_a_typo_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("prot: 1\n")

    with pytest.raises(ValueError, match="prot"):
        load_settings(path)


@pytest.mark.parametrize("keys", ["k1", "k1:root", ":admin"])
def test_malformed_api_keys_are_refused(keys: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TASKLINE_API_KEYS", keys)

    with pytest.raises(ValueError, match="TASKLINE_API_KEYS"):
        load_settings().key_roles()


def test_api_keys_map_to_roles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TASKLINE_API_KEYS", "a:admin, p:producer,w:worker")

    assert load_settings().key_roles() == {"a": "admin", "p": "producer", "w": "worker"}


@pytest.mark.parametrize(("keys", "roles"), [("", {}), (" ", {}), ("a:admin,", {"a": "admin"})])
def test_an_empty_api_keys_value_means_none(
    keys: str, roles: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TASKLINE_API_KEYS", keys)

    assert load_settings().key_roles() == roles


@pytest.mark.parametrize(
    ("env", "port"),
    [({}, 587), ({"TASKLINE_SMTP_STARTTLS": "false"}, 25), ({"TASKLINE_SMTP_PORT": "2525"}, 2525)],
)
def test_the_smtp_port_follows_starttls_unless_set(
    env: dict[str, str], port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert load_settings().smtp_port_or_default() == port


def test_redis_wait_replicas_reaches_the_engine_and_refuses_a_negative(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().engine_config().redis_wait_replicas == 0
    monkeypatch.setenv("TASKLINE_REDIS_WAIT_REPLICAS", "2")
    assert load_settings().engine_config().redis_wait_replicas == 2
    monkeypatch.setenv("TASKLINE_REDIS_WAIT_REPLICAS", "-1")
    with pytest.raises(ValueError, match="redis_wait_replicas"):
        load_settings()


def test_postgres_url_turns_history_on_and_must_be_postgresql() -> None:
    assert Settings().postgres_dsn() is None
    assert not Settings().engine_config().archive
    assert Settings(postgres_url=" ").postgres_dsn() is None  # empty in an env file means unset
    on = Settings(postgres_url="postgresql://u:pw@db/taskline")
    assert on.postgres_dsn() == "postgresql://u:pw@db/taskline"
    assert on.engine_config().archive

    with pytest.raises(ValueError, match="postgresql://") as refused:
        Settings(postgres_url="mysql://u:pw@db/taskline").postgres_dsn()
    assert "pw" not in str(refused.value)


def test_wait_replicas_without_a_redis_url_is_a_usage_error_at_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On SQLite (or a worker over HTTP) nothing would wait: refused, not silently ignored."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TASKLINE_REDIS_URL", raising=False)
    monkeypatch.setenv("TASKLINE_REDIS_WAIT_REPLICAS", "1")
    with pytest.raises(ValueError, match="TASKLINE_REDIS_WAIT_REPLICAS=1 needs TASKLINE_REDIS_URL"):
        load_settings().check_wait_replicas()
    for command in (["serve"], ["worker", "tests.integration.worker.tasks_app:app"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "needs TASKLINE_REDIS_URL" in result.output
    load_settings(redis_url="redis://127.0.0.1:1/0").check_wait_replicas()  # with Redis: fine
    monkeypatch.setenv("TASKLINE_REDIS_WAIT_REPLICAS", "0")
    load_settings().check_wait_replicas()  # off: fine


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@cache:6379/0?password=hunter2", "redis://:***@cache:6379/0?password=***"),
        ("postgresql://app:hunter2@db/tasks?sslmode=require&password=hunter2",
         "postgresql://app:***@db/tasks?sslmode=require&password=***"),
        ("redis://:hunter2@cache:notaport/0", "redis://:***@cache:notaport/0"),
    ],
)  # fmt: skip
def test_masked_hides_a_password_in_the_query_and_in_a_malformed_url(
    url: str, shown: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TASKLINE_REDIS_URL", url)
    monkeypatch.setenv("TASKLINE_POSTGRES_URL", url)

    masked = load_settings().masked()

    assert (masked["redis_url"], masked["postgres_url"]) == (shown, shown)
    assert "hunter2" not in repr(masked)
