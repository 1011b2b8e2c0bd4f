"""The state stores of tests/unit/test_state.py (a folder, and S3 on moto's server), for the
step cache's tests in both."""

from tests.unit.test_state import s3_env, store

__all__ = ["s3_env", "store"]
