# The flash filesystem interface the store uses, over `os`: on the ESP32 that is
# LittleFS (where rename over an existing file is atomic), under CPython a folder.
# The simulator and the power-loss tests provide the same five methods in memory.
import os


class OsFS:
    def __init__(self, root):
        self.root = root.rstrip("/")
        try:
            os.mkdir(self.root)
        except OSError:
            pass  # it exists

    def _p(self, name):
        return self.root + "/" + name

    def open(self, name, mode):
        return open(self._p(name), mode)

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def remove(self, name):
        os.remove(self._p(name))

    def size(self, name):
        try:
            return os.stat(self._p(name))[6]
        except OSError:
            return -1

    def listdir(self):
        return os.listdir(self.root)
