# Shared by scripts/bench-proxy-ab and scripts/bench-instructions (sourced, not run): the processes they start
# on 127.0.0.1, in a temporary directory, stopped by PID when the script exits. Call bench_setup first.

# A fresh directory `$dir` for configs and logs; every PID added to `pids` is killed on exit.
bench_setup() { # name
  dir=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Debian's nginx with its own prefix under `$dir/NAME`, in the foreground; its master's PID goes to `pids`.
nginx() { # name workers server-block
  mkdir -p "$dir/$1/tmp"
  cat >"$dir/$1/nginx.conf" <<CONF
worker_processes $2;
error_log $dir/$1/error.log warn;
pid $dir/$1/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off; keepalive_requests 1000000;
  client_body_temp_path $dir/$1/tmp/body; proxy_temp_path $dir/$1/tmp/proxy; fastcgi_temp_path $dir/$1/tmp/f;
  uwsgi_temp_path $dir/$1/tmp/u; scgi_temp_path $dir/$1/tmp/s;
  $3
}
CONF
  /usr/sbin/nginx -p "$dir/$1/" -c "$dir/$1/nginx.conf" -g 'daemon off;' &
  pids+=($!)
}

# The trivial upstream both benchmarks put behind the proxies: one nginx worker answering `{"ok":true}`.
trivial_upstream() { # port
  nginx upstream 1 "server { listen 127.0.0.1:$1; location / { default_type application/json; return 200 '{\"ok\":true}'; } }"
}

# A BFF config file: memory store, one public API `trivial` (`token = false`: no login needed) on the upstream.
bff_config() { # file port upstream-port
  cat >"$1" <<CONF
listen = "127.0.0.1:$2"
public_origin = "http://localhost:$2"
[oidc]
issuer = "http://127.0.0.1:9"
client_id = "bench"
client_secret = "bench-only-secret-0123456789abcdef"
redirect_uri = "http://localhost:$2/callback"
[apis.trivial]
url = "http://127.0.0.1:$3"
methods = ["GET"]
token = false
CONF
}
