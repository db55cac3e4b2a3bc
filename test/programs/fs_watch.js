// fs_watch.js DIR - Node's fs.watch on DIR, for test/programs_watchers.c.
// Prints "ready" once the watch is set, then one line per event
// ("rename NAME", "change NAME"); a line on stdin closes the watcher, and
// the script prints "closed" and exits 0.  A watcher error exits 3.
'use strict';
const fs = require('fs');

const watcher = fs.watch(process.argv[2], (event, name) => {
	process.stdout.write(`${event} ${name}\n`);
});
watcher.on('error', (err) => {
	process.stderr.write(`fs.watch error: ${err}\n`);
	process.exit(3);
});
process.stdout.write('ready\n');
process.stdin.once('data', () => {
	watcher.close();
	process.stdout.write('closed\n');
	process.stdin.destroy();
});
