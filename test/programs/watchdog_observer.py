"""watchdog_observer.py DIR - a watchdog Observer on DIR, for
test/programs_watchers.c.

Prints "ready OBSERVER-CLASS" once the observer runs, then one line per event
("created PATH", "modified PATH", "moved PATH DEST" ...).  A line on stdin
stops it: stop() and join(), then "stopped SECONDS" (how long that took) and
exit 0.  Its reader thread blocks in read() on the inotify fd; stop() wakes
it with the IN_IGNORED that inotify_rm_watch queues.
"""
import sys
import time

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer


class Printer(FileSystemEventHandler):
    def on_any_event(self, event):
        dest = getattr(event, "dest_path", "")
        print(event.event_type, event.src_path, dest, flush=True)


def main():
    observer = Observer()
    observer.schedule(Printer(), sys.argv[1], recursive=True)
    observer.start()
    print("ready", type(observer).__name__, flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    observer.stop()
    observer.join()
    print("stopped %.3f" % (time.monotonic() - start), flush=True)


if __name__ == "__main__":
    main()
