#!/usr/bin/env bash
# The main job: install, then train LeNet-5 on Fashion-MNIST, export it as a SavedModel,
# reload the export and predict a few test images. Extra arguments go to the app.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec python apps/lenet5_fashion_mnist.py "$@"
