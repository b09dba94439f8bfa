import sys

from napari_sleap_train.cli import main

sys.exit(main())
