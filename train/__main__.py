"""``python -m train``: see :mod:`train.cli`."""

import sys

try:
    from train.cli import main
except ImportError as e:  # `pip install .` gives the runtime only: training needs its extras
    print(
        f"error: python -m train needs the training and evaluation extras ({e}): "
        'pip install -r requirements-eval.txt, or pip install ".[train,eval]"',
        file=sys.stderr,
    )
    sys.exit(2)

sys.exit(main())
