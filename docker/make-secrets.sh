#!/bin/sh
# Make the password files docker-compose.yml mounts as secrets, once: random passwords (32 characters of
# [A-Za-z0-9_-]) in ${MARSAD_SECRETS_DIR:-./secrets} (git-ignored), each file mode 0600 and owned by the user of the
# image that reads it (compose bind-mounts a file secret with the host file's owner and mode, and libpq ignores a
# password file readable by others). Existing files are kept. Run as root (sudo) so the owners can be set.
#
#   postgres_password      superuser postgres                       postgres image, uid 999
#   marsad_db_password     role marsad (read by postgres-init.sh)   postgres image, uid 999
#   marsad_pgpass          role marsad, libpq password file         marsad image, uid 50000
#   es_elastic_password    Elasticsearch user elastic (profile cluster)  elasticsearch image, uid 1000
#   es_password            the same password, for the project       marsad image, uid 50000
set -eu
dir=${MARSAD_SECRETS_DIR:-$(dirname "$0")/../secrets}
mkdir -p "$dir" && chmod 700 "$dir"
gen() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
put() {  # put FILE OWNER CONTENT
    [ -e "$dir/$1" ] && return 0
    (umask 077 && printf '%s\n' "$3" > "$dir/$1")
    if [ "$(id -u)" = 0 ]; then chown "$2" "$dir/$1"; else echo "not root: chown $2 $dir/$1 yourself" >&2; fi
}
marsad=$( [ -e "$dir/marsad_db_password" ] && cat "$dir/marsad_db_password" || gen )
elastic=$( [ -e "$dir/es_elastic_password" ] && cat "$dir/es_elastic_password" || gen )
put postgres_password 999:999 "$(gen)"
put marsad_db_password 999:999 "$marsad"
put marsad_pgpass 50000:50000 "postgres:5432:*:marsad:$marsad"
put es_elastic_password 1000:0 "$elastic"
put es_password 50000:50000 "$elastic"
echo "secrets in $dir"
