"""CI files that build images: GitHub Actions workflows, GitLab CI and bake files.

:func:`dockerarch.workflows.emulation.check_ci_file` checks one such file for
multi-platform builds that compile under QEMU emulation (DA801);
:func:`dockerarch.workflows.discover.discover_ci_files` finds them. The
package imports nothing itself: finding CI files must stay cheap for runs
whose Dockerfile results all come from the cache.
"""
