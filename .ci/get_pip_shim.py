"""Stand-in for get-pip.py, which ansible-test downloads from a host outside the package registries.

It does what get-pip.py does with the interpreter's own bundled pip (ensurepip) and PyPI: bootstrap
pip, then `pip install --upgrade --force-reinstall <the arguments ansible-test passes>`.
"""

import ensurepip
import os
import sys

saved = os.environ.get("PIP_CONFIG_FILE")
ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null; the real install must honour the machine's pip config
# (index, certificates).
if saved is None:
    os.environ.pop("PIP_CONFIG_FILE", None)
else:
    os.environ["PIP_CONFIG_FILE"] = saved

from pip._internal.cli.main import main  # noqa: E402 - pip exists only after the bootstrap

# --no-setuptools and --no-wheel are get-pip.py's own flags, not pip's.
arguments = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", *arguments]))
