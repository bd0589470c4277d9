# Sourced by the peer set-up scripts: make_venv VENV PYTHON creates a venv (outside the repo) unless
# one is there, installing Debian's python3-venv first when the system python lacks ensurepip.
make_venv() {
    local venv="$1" py="$2"
    if [ ! -x "$venv/bin/python" ]; then
        if ! "$py" -m venv "$venv"; then
            rm -rf "$venv"
            local sudo=""; [ "$(id -u)" = "0" ] || sudo="sudo"
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y python3-venv
            "$py" -m venv "$venv"
        fi
    fi
}
