"""The state store fixtures (a folder, and S3 on moto's server) for the lake's files."""

from tests.unit.test_state import s3_env, store  # noqa: F401 (fixtures, shared)
