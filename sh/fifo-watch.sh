## One watch, read line by line as kubectl prints it: WATCH (a kubectl command) writes into the
## script's FIFO in the background, so the script can kill it ($watcher) when it ends; ON_LINE runs
## for each line in $line. Ends when the watch ended. Needs kubectl-setup.sh's $fifo and $watcher.
rm -f "$fifo"
mkfifo "$fifo"
@@WATCH@@ >"$fifo" 2>&1 &
watcher=$!
while IFS= read -r line; do
  @@ON_LINE@@
done <"$fifo"
wait "$watcher"
watcher=
