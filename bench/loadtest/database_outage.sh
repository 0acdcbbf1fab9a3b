#!/usr/bin/env bash
# Stop PostgreSQL for 10 seconds while a client keeps asking gunicorn for a page that
# needs the database, then start it again: pages must answer 503 (the clear page, no
# stack trace) during the outage and work again afterwards with no restart of the app.
# Usage (as root, on a test machine only): DATABASE_URL=postgres://… bench/loadtest/database_outage.sh
set -u
cd "$(dirname "$0")/../.."
case "${DATABASE_URL:-}" in postgres*) ;; *) echo "needs DATABASE_URL=postgres://…"; exit 2;; esac
export DEBUG=0 SECRET_KEY="outage-drill-$(date +%s)-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
  CONSENT_SIGNING_KEY="$(.venv/bin/python -m clinic.signing_keys)" \
  ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0 LOG_LEVEL=ERROR \
  WEB_CONCURRENCY=3 BIND=127.0.0.1:8766
cluster="$(ls /etc/postgresql | head -1)"
.venv/bin/gunicorn clinic.wsgi:application -c gunicorn.conf.py --daemon --pid /tmp/outage-gunicorn.pid
sleep 3
# A signed-in session cookie makes every request read the session from the database.
probe() { curl -s -o /tmp/outage-body -w '%{http_code}' -b sessionid=a-session http://127.0.0.1:8766/patients/; }
phase() {
  local codes="" end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do codes="$codes $(probe)"; sleep 0.5; done
  echo "$1:$(echo $codes | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
}
phase "database up" 5
pg_ctlcluster --skip-systemctl-redirect "$cluster" main stop
phase "database stopped" 10
grep -q "Threadline is temporarily unavailable" /tmp/outage-body && echo "outage page: clear 503 page shown"
pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
sleep 1
phase "database back (no app restart)" 10
kill "$(cat /tmp/outage-gunicorn.pid)"
