"""gongmo-watcher: never miss a Korean public call (공모사업) in your field."""

__version__ = "0.1.0"
