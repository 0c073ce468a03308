"""Registry answers for hovers, looked up in the background.

A hover must answer at once, so it only reads what is already known. Asking
about an image the offline snapshot lacks starts a look-up on a thread of
its own (the registry client's disk cache first, then the network); a
later hover shows the answer.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dockerarch.imageref import ImageRef
from dockerarch.knowledge.images import ImagePlatforms
from dockerarch.knowledge.registry import RegistryClient, RegistryError

#: What a look-up found: the platforms, or why the registry could not say.
Answer = ImagePlatforms | RegistryError


class ImageLookups:
    def __init__(self) -> None:
        # One thread: a RegistryClient is not meant to be shared between threads.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockerarch-registry")
        #: Used on the look-up thread only; one per cache directory.
        self._clients: dict[Path | None, RegistryClient] = {}
        self._answers: dict[tuple[Path | None, str], Answer] = {}
        self._asked: set[tuple[Path | None, str]] = set()

    def known(self, ref: ImageRef, cache_dir: Path | None) -> Answer | None:
        """The answer for ``ref`` if there is one yet; else start looking and return None."""
        key = (cache_dir, str(ref))
        answer = self._answers.get(key)
        if answer is None and key not in self._asked:
            self._asked.add(key)
            self._thread.submit(self._look_up, key, ref)
        return answer

    def _look_up(self, key: tuple[Path | None, str], ref: ImageRef) -> None:
        cache_dir = key[0]
        client = self._clients.get(cache_dir)
        if client is None:
            client = self._clients[cache_dir] = RegistryClient(cache_dir=cache_dir)
        try:
            self._answers[key] = client.platforms(ref)
        except RegistryError as exc:
            self._answers[key] = exc
        except Exception as exc:
            # Nothing here may kill the thread or leave the hover waiting forever.
            self._answers[key] = RegistryError(f"{ref}: look-up failed: {exc!r}")

    def forget(self) -> None:
        """Ask again next time (settings changed, or the user wants a fresh answer)."""
        self._answers.clear()
        self._asked.clear()
