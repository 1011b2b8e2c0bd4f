from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.config import load_config, parse_config
from shipyard.errors import ConfigError
from shipyard.project import Project
from shipyard.redact import redact_text


def minimal(**tables: dict) -> dict:
    return {
        "project": "shop",
        "environments": {"dev": {"lake": "lake"}},
        "sources": {"erp": {"url": "sqlite:///erp.db"}},
        "tables": tables,
    }


def test_unknown_type_names_key_path_value_and_choices() -> None:
    data = minimal(orders={"source": "erp", "table": "orders",
                           "clean": {"types": {"qty": "integr"}}})
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert ("tables.orders.clean.types.qty: unknown type 'integr'; expected one of "
            "bool, int8, int16, int32, int64") in str(error.value)


def test_unknown_key_and_unknown_source_are_named() -> None:
    with pytest.raises(ConfigError, match=r"tables\.orders\.tabel: unknown key"):
        parse_config(minimal(orders={"source": "erp", "tabel": "orders"}))
    with pytest.raises(ConfigError, match=r"unknown source 'crm'; declared sources: erp"):
        parse_config(minimal(orders={"source": "crm", "table": "orders"}))


def test_incremental_needs_a_watermark_and_one_origin() -> None:
    with pytest.raises(ConfigError, match="needs 'watermark'"):
        parse_config(minimal(o={"source": "erp", "table": "o", "mode": "incremental"}))
    with pytest.raises(ConfigError, match="exactly one of 'table'"):
        parse_config(minimal(o={"source": "erp", "table": "o", "query": "select 1"}))


def test_variables_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    data = minimal()
    data["sources"]["erp"]["url"] = "${ERP_URL}"
    data["environments"]["dev"]["lake"] = "${LAKE:-default-lake}"
    monkeypatch.setenv("ERP_URL", "postgresql+psycopg://u@h/db")
    config = parse_config(data)
    assert config.sources["erp"].url == "postgresql+psycopg://u@h/db"
    assert config.environments["dev"].lake == "default-lake"
    monkeypatch.delenv("ERP_URL")
    with pytest.raises(ConfigError, match=r"sources\.erp\.url: environment variable ERP_URL"):
        parse_config(data)


def test_an_environment_missing_a_variable_fails_when_opened_not_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    data = minimal()
    data["environments"]["team"] = {"lake": "${TEAM_LAKE}", "metadata_db": "${TEAM_DB}",
                                    "sources": {"erp": {"url": "${TEAM_ERP}"}}}
    (tmp_path / "shipyard.yaml").write_text(yaml.safe_dump(data))
    for name in ("TEAM_LAKE", "TEAM_DB", "TEAM_ERP"):
        monkeypatch.delenv(name, raising=False)
    dev = Project.open(tmp_path, "dev")  # dev names none of them: it opens
    assert dev.source_url("erp").endswith("/erp.db")
    with pytest.raises(ConfigError) as error:
        Project.open(tmp_path, "team")
    message = str(error.value)
    assert "environments.team.lake: ${TEAM_LAKE}" in message
    assert "environments.team.sources.erp.url: ${TEAM_ERP}" in message
    assert "export TEAM_DB TEAM_ERP TEAM_LAKE" in message
    monkeypatch.setenv("TEAM_LAKE", "s3://bucket/lake")
    monkeypatch.setenv("TEAM_DB", "postgresql+psycopg://u@db.example/shop")
    monkeypatch.setenv("TEAM_ERP", "postgresql+psycopg://u@erp.example/erp")
    team = Project.open(tmp_path, "team")  # the environment's own source URL, not the project's
    assert team.source_url("erp") == "postgresql+psycopg://u@erp.example/erp"
    assert team.lake_root == "s3://bucket/lake"


def test_an_environment_may_only_override_a_declared_source() -> None:
    data = minimal()
    data["environments"]["dev"]["sources"] = {"crm": {"url": "sqlite:///crm.db"}}
    with pytest.raises(ConfigError, match=r"environments\.dev\.sources\.crm: unknown source"):
        parse_config(data)


def test_missing_file_and_bad_yaml_and_unknown_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no shipyard\.yaml"):
        load_config(tmp_path)
    (tmp_path / "shipyard.yaml").write_text("project: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path)
    (tmp_path / "shipyard.yaml").write_text("project: p\nenvironments: {dev: {lake: lake}}\n")
    with pytest.raises(ConfigError, match=r"unknown environment 'prod'.*declares: dev"):
        Project.open(tmp_path, "prod")


def test_relative_stores_resolve_inside_the_project(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text("project: p\nenvironments: {dev: {lake: lake}}\n")
    project = Project.open(tmp_path)
    assert project.lake_root == str(tmp_path / "lake")
    assert project.metadata_url == f"sqlite:///{tmp_path}/.shipyard/dev/metadata.db"


def test_secrets_of_the_config_are_masked_from_the_moment_it_is_read() -> None:
    parse_config({"project": "p", "environments": {"dev": {
        "lake": "s3://bucket/lake", "tracking_uri": "postgresql://ml:Tr4ckingPw@db/ml",
        "storage_options": {"AWS_SECRET_ACCESS_KEY": "S3cr3tAccess", "AWS_REGION": "eu-west-1"},
    }}})
    text = redact_text("S3cr3tAccess in eu-west-1; login with Tr4ckingPw refused")
    assert text == "*** in eu-west-1; login with *** refused"


def with_model(**model: object) -> dict:
    return {**minimal(), "pipelines": {"train": {"function": "pipeline:train"}},
            "models": {"titanic": {"pipeline": "train", **model}}}


def test_a_misspelled_gate_metric_is_refused_at_load_naming_key_and_closest() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(with_model(primary_metric="roc_auc", gate={"acuracy": ">= 0.75"}))
    assert ("shipyard.yaml is invalid:\n  models.titanic.gate: unknown metric 'acuracy' (did you "
            "mean 'accuracy'?); a classifier reports accuracy, roc_auc, f1, log_loss; a "
            "regressor rmse, mae, r2; a recommender map_at_k, ndcg_at_k, precision_at_k, "
            "auc") in str(error.value)
    with pytest.raises(ConfigError, match=r"models.titanic.primary_metric: unknown metric "
                                          r"'ndgc_at_5' \(did you mean 'ndcg_at_5'\?\)"):
        parse_config(with_model(primary_metric="ndgc_at_5"))


def test_gate_metrics_of_two_kinds_of_model_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"models.titanic: .*metrics of two kinds of model: "
                                          r"roc_auc \(classifier\), map_at_10 \(recommender\)"):
        parse_config(with_model(primary_metric="roc_auc", gate={"map_at_10": ">= 0.1"}))
    parsed = parse_config(with_model(primary_metric="map_at_20", gate={"auc": ">= 0.6"}))
    assert parsed.models["titanic"].gate == {"auc": ">= 0.6"}


def test_greater_is_better_is_checked_against_the_metrics_own_direction() -> None:
    """A setting that could only be ignored is refused when it says otherwise than Shipyard."""
    for metric, stated in (("rmse", True), ("log_loss", True), ("roc_auc", False)):
        with pytest.raises(ConfigError, match=rf"models.titanic: .*greater_is_better: "
                                              rf"{str(stated).lower()} contradicts {metric}"):
            parse_config(with_model(primary_metric=metric, greater_is_better=stated))
    for metric, stated in (("rmse", False), ("roc_auc", True), ("map_at_10", True)):
        parse_config(with_model(primary_metric=metric, greater_is_better=stated))
    assert parse_config(with_model(primary_metric="mae")).models["titanic"].greater_is_better is None


def test_the_metric_names_are_those_the_models_report() -> None:
    from shipyard.config.metrics import CLASSIFIER, RECOMMENDER, REGRESSOR
    from shipyard.recsys.metrics import RANKING
    from shipyard.train.metrics import CLASSIFICATION, GREATER_IS_BETTER, REGRESSION

    assert set(CLASSIFIER) == set(CLASSIFICATION)
    assert set(REGRESSOR) == set(REGRESSION)
    assert set(GREATER_IS_BETTER) == set(CLASSIFICATION) | set(REGRESSION)
    assert set(RECOMMENDER) == set(RANKING)
