"""The project file: typed models and loading with ``${VAR}`` interpolation."""

from shipyard.config.load import CONFIG_FILE, load_config, parse_config
from shipyard.config.schema import ProjectConfig

__all__ = ["CONFIG_FILE", "ProjectConfig", "load_config", "parse_config"]
