#!/usr/bin/python3
"""dl_handles.py - watchers and a writer that reach libc through a dlopen
handle (ctypes.CDLL), not through the program's own calls, for
test/dl_handles.c.

  dl_handles.py watch-pyinotify DIR    pyinotify's ctypes binding
  dl_handles.py watch-inotify DIR      python3-inotify (inotify.adapters)
  dl_handles.py watch-ctypes DIR       inotify_init1/add_watch via ctypes
  dl_handles.py write-ctypes DIR       open, write, close, rename via ctypes

A watcher prints "ready" once its watch is on DIR, then one line per event,
"MASK NAME" (MASK in hex), until IN_MOVED_TO or 20 seconds pass.  A module
that is not installed: "missing MODULE" and exit status 77.
"""
import ctypes
import os
import select
import sys
import time

IN_MOVED_TO = 0x80
DEADLINE = 20.0


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def missing(module):
    out("missing " + module)
    sys.exit(77)


def watch_pyinotify(path):
    try:
        import pyinotify
    except ImportError:
        missing("pyinotify")
    done = []

    class Handler(pyinotify.ProcessEvent):
        def process_default(self, event):
            out("%x %s" % (event.mask, event.name))
            if event.mask & IN_MOVED_TO:
                done.append(True)

    wm = pyinotify.WatchManager()
    notifier = pyinotify.Notifier(wm, Handler())
    wd = wm.add_watch(path, pyinotify.ALL_EVENTS).get(path, -1)
    if wd < 0:
        out("error add_watch")
        sys.exit(1)
    out("ready")
    end = time.monotonic() + DEADLINE
    while not done and time.monotonic() < end:
        if notifier.check_events(500):
            notifier.read_events()
            notifier.process_events()


def watch_inotify(path):
    try:
        import inotify.adapters
    except ImportError:
        missing("inotify")
    watcher = inotify.adapters.Inotify()
    watcher.add_watch(path)
    out("ready")
    for event in watcher.event_gen(timeout_s=DEADLINE, yield_nones=False):
        header, _, _, name = event
        out("%x %s" % (header.mask, name))
        if header.mask & IN_MOVED_TO:
            break


def watch_ctypes(path):
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = libc.inotify_init1(0)
    if fd < 0:
        out("error inotify_init1 %d" % ctypes.get_errno())
        sys.exit(1)
    if libc.inotify_add_watch(fd, path.encode(), 0xfff) < 0:
        out("error inotify_add_watch %d" % ctypes.get_errno())
        sys.exit(1)
    out("ready")
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        buf = os.read(fd, 4096)
        while buf:
            wd, mask, cookie, length = (int.from_bytes(buf[i:i + 4], sys.byteorder)
                                        for i in (0, 4, 8, 12))
            name = buf[16:16 + length].rstrip(b"\0").decode()
            buf = buf[16 + length:]
            out("%x %s" % (mask, name))
            if mask & IN_MOVED_TO:
                return


def write_ctypes(path):
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    old = os.path.join(path, "f").encode()
    new = os.path.join(path, "g").encode()
    fd = libc.open(old, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    if fd < 0 or libc.write(fd, b"x", 1) != 1 or libc.close(fd) != 0 or \
            libc.rename(old, new) != 0:
        out("error %d" % ctypes.get_errno())
        sys.exit(1)


MODES = {
    "watch-pyinotify": watch_pyinotify,
    "watch-inotify": watch_inotify,
    "watch-ctypes": watch_ctypes,
    "write-ctypes": write_ctypes,
}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in MODES:
        sys.stderr.write(__doc__)
        sys.exit(2)
    MODES[sys.argv[1]](sys.argv[2])
