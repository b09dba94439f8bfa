"""Engine tests import TensorFlow in-process; they run in their own pytest process
(scripts/test.sh) and must never be collected together with GUI tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
