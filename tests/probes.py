"""A slow reply for the fake model that measures how many calls ran at once."""

import threading
import time


class Overlap:
    def __init__(self, seconds: float, reply: str):
        self.seconds, self.reply = seconds, reply
        self.running = self.peak = 0
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def __call__(self, prompt: str) -> str:
        start = time.perf_counter()
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
            self.spans.append((start, time.perf_counter()))
        return self.reply

    @property
    def span(self) -> float:
        """Seconds from the first call's start to the last call's end."""
        return max(end for _, end in self.spans) - min(start for start, _ in self.spans)
