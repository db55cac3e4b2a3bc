#!/usr/bin/python3
"""scan-bench.py - the scanner (inotify-shim scan) beside python watchdog's
PollingObserver and chokidar with usePolling, run the same way: one tree of
FILES files in DIRS directories, watched recursively, each poller told to
see any change within the same bound (--cycle, default 1.5 s); this
process, outside every watcher, changes files and times the events.

Figures per poller (issue 15's targets in brackets):
  idle      CPU of the poller process while nothing changes, % of one core  [< 5 %]
  hot       latency of a change to a file changed a moment before            [< 100 ms]
  cold      latency of a change to a file untouched for seconds, max         [< 2 s]
  ready     time from start until a first probe change is seen

Usage (from the build tree; make bench-scan runs it):
  bench/scan-bench.py [-n FILES] [-d DIRS] [--cycle MS] [--idle S]
                      [--only shim,watchdog,chokidar] BUILDDIR
chokidar is looked for in $CHOKIDAR_DIR/node_modules (npm install chokidar
there); without it, or without /usr/bin/python3's watchdog, that column
says why it was left out.
"""
import argparse, os, random, select, shutil, signal, subprocess, sys, tempfile, time

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def make_tree(root, files, dirs):
    stamp = os.path.join(root, f".made-{files}-{dirs}")
    if os.path.exists(stamp):
        return
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    per = files // dirs
    for d in range(dirs):
        p = os.path.join(root, f"d{d}")
        os.mkdir(p)
        for i in range(per):
            with open(os.path.join(p, f"f{d}_{i}"), "w") as f:
                f.write("x")
    open(stamp, "w").close()

class Watcher:
    """A poller started as a child; its output lines read with timestamps."""
    def __init__(self, argv, env=None, cpu_pid_file=None):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  env=env, start_new_session=True)
        self.buf = b""
        self.cpu_pid_file = cpu_pid_file
    def cpu_pid(self):
        if self.cpu_pid_file:
            with open(self.cpu_pid_file) as f:
                for line in f:
                    if line.startswith("pid "):
                        return int(line.split()[1])
        return self.p.pid
    def wait_for(self, needle, timeout):
        """Seconds until a line containing needle arrives, or None."""
        t0 = time.monotonic()
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if needle.encode() in line:
                    return time.monotonic() - t0
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self.buf += chunk
    def drain(self):
        while select.select([self.p.stdout], [], [], 0)[0]:
            if not os.read(self.p.stdout.fileno(), 65536):
                break
        self.buf = b""
    def stop(self):
        try:
            os.killpg(self.p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.p.wait()

WATCHDOG = r'''
import sys, time
from watchdog.observers.polling import PollingObserver
from watchdog.events import FileSystemEventHandler
class H(FileSystemEventHandler):
    def on_any_event(self, e):
        sys.stdout.write(f"{e.event_type} {e.src_path}\n"); sys.stdout.flush()
o = PollingObserver(timeout=float(sys.argv[2]))
o.schedule(H(), sys.argv[1], recursive=True)
o.start()
while True: time.sleep(3600)
'''

CHOKIDAR = r'''
const chokidar = require(process.argv[3] + "/node_modules/chokidar");
const iv = Number(process.argv[4]);
const w = chokidar.watch(process.argv[2], { usePolling: true, interval: iv,
    binaryInterval: iv, ignoreInitial: true, alwaysStat: false });
w.on("all", (ev, p) => process.stdout.write(ev + " " + p + "\n"));
'''

def start(kind, args, tree, work):
    cycle_s = args.cycle / 1000
    if kind == "shim":
        dom = os.path.join(work, "dom")
        os.mkdir(dom, 0o700)
        env = dict(os.environ, INOTIFY_SHIM_DOMAIN=dom, INOTIFY_SHIM_SCAN="1")
        shim = os.path.join(args.builddir, "tools/inotify-shim")
        deny = os.path.join(args.builddir, "test/noinotify")
        w = Watcher([deny, shim, "run", "--", "inotifywait", "-q", "-m", "-r",
                     "-e", "create,delete,modify,attrib,move,close_write",
                     "--format", "%e %w%f", tree], env=env,
                    cpu_pid_file=os.path.join(dom, "scan.status"))
        w.extra = subprocess.Popen([shim, "scan", "--cycle", str(args.cycle),
                                    "--interval", str(args.interval), "--grace", "600000"],
                                   env=env, start_new_session=True)
        return w
    if kind == "watchdog":
        script = os.path.join(work, "wd.py")
        open(script, "w").write(WATCHDOG)
        return Watcher(["/usr/bin/python3", script, tree, str(cycle_s)])
    script = os.path.join(work, "ch.js")
    open(script, "w").write(CHOKIDAR)
    return Watcher(["node", script, tree, args.chokidar, str(args.cycle)])

def missing(kind, args):
    if kind == "watchdog" and subprocess.call(
            ["/usr/bin/python3", "-c", "import watchdog.observers.polling"],
            stderr=subprocess.DEVNULL) != 0:
        return "no watchdog for /usr/bin/python3"
    if kind == "chokidar" and not os.path.isdir(os.path.join(args.chokidar, "node_modules/chokidar")):
        return f"no chokidar in {args.chokidar}/node_modules"
    return None

def measure(kind, args, tree):
    work = tempfile.mkdtemp(prefix="inotify-shim-scanbench-")
    w = None
    try:
        t0 = time.monotonic()
        w = start(kind, args, tree, work)
        probe = os.path.join(tree, "d0", "probe")
        ready = None
        deadline = time.monotonic() + 600
        while ready is None and time.monotonic() < deadline:
            with open(probe, "a") as f:
                f.write("p")
            if w.wait_for("probe", 3) is not None:
                ready = time.monotonic() - t0
        if ready is None:
            return {"error": "never saw the probe"}
        time.sleep(args.cycle / 1000 * 3)
        w.drain()
        pid = w.cpu_pid()
        c0, m0 = cpu_seconds(pid), time.monotonic()
        time.sleep(args.idle)
        idle = 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - m0)
        w.drain()
        per = args.files // args.dirs
        hot = []
        hotfile = os.path.join(tree, "d1", "f1_0")
        for i in range(args.samples + 1):
            with open(hotfile, "a") as f:
                f.write("h")
            t = w.wait_for("f1_0", 10)
            if i and t is not None:
                hot.append(t)
            time.sleep(0.25)
            w.drain()
        cold = []
        rnd = random.Random(15)
        for d in rnd.sample(range(2, args.dirs), args.samples):
            name = f"f{d}_{rnd.randrange(per)}"
            time.sleep(0.3)
            w.drain()
            with open(os.path.join(tree, f"d{d}", name), "a") as f:
                f.write("c")
            t = w.wait_for(name, 10)
            cold.append(t if t is not None else float("inf"))
        return {"ready": ready, "idle": idle, "hot": sorted(hot), "cold": sorted(cold)}
    finally:
        if w:
            w.stop()
            if getattr(w, "extra", None):
                w.extra.send_signal(signal.SIGTERM)
                w.extra.wait()
        shutil.rmtree(work, ignore_errors=True)

def fmt_ms(xs, which):
    if not xs:
        return "-"
    v = xs[len(xs) // 2] if which == "median" else xs[-1]
    return "lost" if v == float("inf") else f"{v * 1000:.0f} ms"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builddir")
    ap.add_argument("-n", "--files", type=int, default=100000)
    ap.add_argument("-d", "--dirs", type=int, default=1000)
    ap.add_argument("--cycle", type=int, default=1500)
    ap.add_argument("--interval", type=int, default=50)
    ap.add_argument("--idle", type=float, default=10)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--only", default="shim,watchdog,chokidar")
    ap.add_argument("--chokidar", default=os.environ.get("CHOKIDAR_DIR", "/tmp/scanbench-npm"))
    args = ap.parse_args()
    tree = os.path.join(os.environ.get("TMPDIR", "/tmp"), "inotify-shim-scanbench-tree")
    make_tree(tree, args.files, args.dirs)
    print(f"{args.files} files in {args.dirs} directories, full cycle {args.cycle} ms, "
          f"idle {args.idle:.0f} s, {args.samples} samples; nproc {os.cpu_count()}")
    print("| poller | ready | idle CPU [<5 %] | hot median | hot max [<100 ms] | cold median | cold max [<2 s] |")
    print("|---|---|---|---|---|---|---|")
    for kind in args.only.split(","):
        why = missing(kind, args)
        r = {"error": why} if why else measure(kind, args, tree)
        if "error" in r:
            print(f"| {kind} | {r['error']} | | | | | |")
        else:
            print(f"| {kind} | {r['ready']:.1f} s | {r['idle']:.1f} % | {fmt_ms(r['hot'], 'median')} | "
                  f"{fmt_ms(r['hot'], 'max')} | {fmt_ms(r['cold'], 'median')} | {fmt_ms(r['cold'], 'max')} |")
        sys.stdout.flush()

if __name__ == "__main__":
    main()
