# Sourced by the scripts: tool paths shared by every command.
export PATH="$HOME/.cargo/bin:$PWD/dev/toolchain/node_modules/.bin:$PATH"
