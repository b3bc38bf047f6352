# sample-app: a container's app that traces its own start-up with nothing but busybox.
# It reads only OTEL_EXPORTER_OTLP_ENDPOINT and TRACEPARENT from its environment, and posts its spans as
# OTLP/JSON to $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces with wget. Without them it still runs, says so, and exits 0.
# Usage: sh /app/sample-app.sh [GREETING]

greeting=${1:-hello from the nerdbox sample app}
service=sample-app

# Unix time in nanoseconds. busybox date has no %N; the shell's EPOCHREALTIME has microseconds.
now_ns() { t=$EPOCHREALTIME; echo "${t%.*}${t#*.}000"; }
# $1 random bytes as lower-case hex. -v: without it hexdump prints a byte that repeats the one before as '*'.
random_hex() { hexdump -v -n "$1" -e '/1 "%02x"' /dev/urandom; }
# True when $1 is $2 lower-case hex digits.
is_hex() { [ ${#1} -eq "$2" ] && case $1 in *[!0-9a-f]*) false ;; esac; }
# $1 made safe inside a JSON string.
json_text() { printf '%s' "$1" | sed 's/[\\"]/\\&/g' | tr -d '\000-\037'; }

# The parent context, as OpenTelemetry's environment propagation gives it: 00-TRACEID-SPANID-FLAGS.
trace_id= parent_id=
case $TRACEPARENT in
    00-*-*-*)
        rest=${TRACEPARENT#00-}
        trace_id=${rest%%-*}; rest=${rest#*-}
        parent_id=${rest%%-*}
        is_hex "$trace_id" 32 && is_hex "$parent_id" 16 || { trace_id= parent_id=; }
        ;;
esac
if [ -z "$trace_id" ]; then
    echo "$service: no usable TRACEPARENT ('$TRACEPARENT'); its spans start a trace of their own"
    trace_id=$(random_hex 16)
fi

# One span as OTLP/JSON: name start end attributes (a JSON list body).
# A root span (no usable TRACEPARENT) has no parentSpanId at all.
span() {
    printf '{"traceId":"%s","spanId":"%s",%s"name":"%s","kind":1,"startTimeUnixNano":"%s","endTimeUnixNano":"%s","attributes":[%s]}' \
        "$trace_id" "$(random_hex 8)" "${parent_id:+\"parentSpanId\":\"$parent_id\",}" "$1" "$2" "$3" "$4"
}
str_attr() { printf '{"key":"%s","value":{"stringValue":"%s"}}' "$1" "$(json_text "$2")"; }
int_attr() { printf '{"key":"%s","value":{"intValue":"%s"}}' "$1" "$2"; }

# app.LoadConfig: read the settings file and check the binary it would run.
start=$(now_ns)
settings=0
if [ -r /etc/sample-app.conf ]; then
    while IFS='=' read -r key value; do
        case $key in ''|'#'*) continue ;; esac
        settings=$((settings + 1))
    done < /etc/sample-app.conf
fi
digest=$(head -c 262144 /bin/busybox | sha256sum | cut -c1-16)
end=$(now_ns)
load_config=$(span app.LoadConfig "$start" "$end" "$(int_attr app.config.settings "$settings"),$(str_attr app.binary.sha256 "$digest")")

# app.Ready: the app says it is up; the span ends when it is ready for work.
start=$(now_ns)
echo "$greeting"
: > /tmp/ready
end=$(now_ns)
ready=$(span app.Ready "$start" "$end" "$(str_attr app.greeting "$greeting")")

if [ -z "$OTEL_EXPORTER_OTLP_ENDPOINT" ]; then
    echo "$service: OTEL_EXPORTER_OTLP_ENDPOINT is not set; no spans sent"
    exit 0
fi
url=${OTEL_EXPORTER_OTLP_ENDPOINT%/}/v1/traces
body=$(printf '{"resourceSpans":[{"resource":{"attributes":[%s]},"scopeSpans":[{"scope":{"name":"%s"},"spans":[%s,%s]}]}]}' \
    "$(str_attr service.name "$service")" "$service" "$load_config" "$ready")
# An endpoint that never answers must not keep the app from finishing.
if answer=$(timeout 60 wget -q -O - --header 'Content-Type: application/json' --post-data "$body" "$url" 2>&1); then
    echo "$service: 2 spans sent to $url in trace $trace_id ${answer:+(answer: $answer)}"
else
    echo "$service: sending spans to $url failed: $answer"
fi
exit 0
