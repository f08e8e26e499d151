#!/bin/sh
# rocketmq-rs: what Java's runserver.sh / runbroker.sh do for a JVM, for our binaries.
#   runserver.sh namesrv|broker [args...]
# Finds the binary (ROCKETMQ_RS_BIN_DIR, else next to this script in a bundle, else
# target/release of the checkout this script lives in), sets the log settings and execs it
# in the foreground (run it with nohup ... & as Java's scripts are).
#
# JAVA_OPT / JAVA_OPT_EXT: the JVM system properties that mean something to us are honoured:
#   -Duser.home=DIR          the home of logs/rocketmqlogs (and of the namesrv's files)
#   -Drocketmq.log.root=DIR  the log directory ('-' keeps logging on stderr)
#   -Drocketmq.log.level=L   the log level (info, debug, warn, error; or an EnvFilter directive)
# The other JVM options (heap, GC) have no meaning for a Rust process and are ignored.
# The same settings as environment variables: ROCKETMQ_LOG_ROOT, ROCKETMQ_LOG_LEVEL,
# ROCKETMQ_LOG_MAX_FILE_SIZE, ROCKETMQ_LOG_MAX_INDEX (see the README).

name="$1"
shift

script_dir=$(cd "$(dirname "$0")" && pwd)
if [ -n "$ROCKETMQ_RS_BIN_DIR" ]; then
  bin="$ROCKETMQ_RS_BIN_DIR/$name"
elif [ -x "$script_dir/$name" ]; then
  bin="$script_dir/$name"
else
  bin="$script_dir/../../target/release/$name"
fi
if [ ! -x "$bin" ]; then
  echo "Please build rocketmq-rs first: $bin not found (cargo build --release -p namesrv -p broker)" >&2
  exit 1
fi

user_home="$HOME"
log_root=""
log_level=""
for opt in $JAVA_OPT $JAVA_OPT_EXT; do
  case "$opt" in
    -Duser.home=*) user_home="${opt#-Duser.home=}" ;;
    -Drocketmq.log.root=*) log_root="${opt#-Drocketmq.log.root=}" ;;
    -Drocketmq.log.level=*) log_level="${opt#-Drocketmq.log.level=}" ;;
  esac
done
if [ -n "$log_root" ]; then
  ROCKETMQ_LOG_ROOT="$log_root"
elif [ -z "$ROCKETMQ_LOG_ROOT" ]; then
  ROCKETMQ_LOG_ROOT="$user_home/logs/rocketmqlogs"
fi
[ -n "$log_level" ] && ROCKETMQ_LOG_LEVEL="$log_level"
export ROCKETMQ_LOG_ROOT ROCKETMQ_LOG_LEVEL ROCKETMQ_HOME

if [ "$name" = namesrv ] && [ "$user_home" != "$HOME" ]; then
  exec "$bin" --userHome "$user_home" "$@"
fi
if [ "$name" = broker ] && [ "$user_home" != "$HOME" ]; then
  # The broker's defaults under user.home (storePathRootDir) follow $HOME.
  HOME="$user_home"
  export HOME
  exec "$bin" "$@"
fi
exec "$bin" "$@"
