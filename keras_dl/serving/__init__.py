"""Serve exported SavedModels locally with TensorFlow Serving's REST and gRPC APIs."""

from keras_dl.serving.repository import ModelRepository, ServableNotFound
from keras_dl.serving.server import ModelServer

__all__ = ["ModelRepository", "ModelServer", "ServableNotFound"]
