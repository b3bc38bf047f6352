namespace Nerdbox.Tests.Workload;

/// <summary>
/// Busybox scripts that act as a container's workload towards its OTLP endpoint: they read only the environment
/// the agent gives (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>TRACEPARENT</c>) and print what each request got, one
/// line per request as <c>NAME: rc=CODE ANSWER</c>, for the test to read back.
/// </summary>
internal static class WorkloadScripts
{
    public const string ScriptPath = "/app/workload.sh";

    /// <summary>A bundle whose process runs <paramref name="script"/> with <paramref name="args"/>.</summary>
    public static async Task<string> BundleAsync(VmScratch scratch, string name, string script, params string[] args)
    {
        var bundle = await scratch.BundleAsync(name, ["sh", ScriptPath, .. args]);
        var path = Path.Combine(bundle, "rootfs", ScriptPath.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, Common + script);
        return bundle;
    }

    /// <summary>What every script shares: the endpoint, the parent context, and a request that reports its answer.</summary>
    private const string Common = """
        base=${OTEL_EXPORTER_OTLP_ENDPOINT%/}
        rest=${TRACEPARENT#00-}; trace_id=${rest%%-*}; rest=${rest#*-}; parent_id=${rest%%-*}
        echo "env: endpoint=$OTEL_EXPORTER_OTLP_ENDPOINT traceparent=$TRACEPARENT"
        now_ns() { t=$EPOCHREALTIME; echo "${t%.*}${t#*.}000"; }
        # -v: without it hexdump prints a block that repeats the one before as '*'.
        random_hex() { hexdump -v -n "$1" -e '/1 "%02x"' /dev/urandom; }
        # report NAME wget-arguments...: one line with wget's exit code and the answer (or wget's error, which names the HTTP status).
        report() {
            name=$1; shift
            answer=$(timeout 120 wget -q -O - "$@" 2>&1); rc=$?
            echo "$name: rc=$rc $(echo "$answer" | tr '\n' ' ')"
        }
        # span NAME [TRACE_ID]: one span of this container, under TRACEPARENT.
        span() {
            now=$(now_ns)
            printf '{"traceId":"%s","spanId":"%s","parentSpanId":"%s","name":"%s","kind":1,"startTimeUnixNano":"%s","endTimeUnixNano":"%s"}' \
                "${2:-$trace_id}" "$(random_hex 8)" "$parent_id" "$1" "$now" "$now"
        }
        export_of() { printf '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"%s"}}]},"scopeSpans":[{"scope":{"name":"%s"},"spans":[%s]}]}]}' "$1" "$1" "$2"; }

        """;

    /// <summary>
    /// Posts <c>$1</c> batches of <c>$2</c> spans, each span carrying a 3000-character attribute, as fast as it can:
    /// a batch is built from fresh ids, written to a file and posted whole (each well under the 4 MiB request bound
    /// but far over the container's share of the guest's buffer).
    /// </summary>
    public const string Flood = """
        batches=$1 per_batch=$2
        pad=$(head -c 3000 /dev/zero | tr '\0' x)
        i=1
        while [ $i -le $batches ]; do
            hexdump -v -n $((8 * per_batch)) -e '8/1 "%02x" "\n"' /dev/urandom | awk -v trace="$trace_id" -v parent="$parent_id" -v now="$(now_ns)" -v pad="$pad" '
                BEGIN { printf "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"flood\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"flood\"},\"spans\":[" }
                { printf "%s{\"traceId\":\"%s\",\"spanId\":\"%s\",\"parentSpanId\":\"%s\",\"name\":\"flood.Item\",\"kind\":1,\"startTimeUnixNano\":\"%s\",\"endTimeUnixNano\":\"%s\",\"attributes\":[{\"key\":\"flood.pad\",\"value\":{\"stringValue\":\"%s\"}}]}", (NR > 1 ? "," : ""), trace, $1, parent, now, now, pad }
                END { print "]}]}]}" }' > /tmp/batch.json
            report "flood batch $i" --header 'Content-Type: application/json' --post-file /tmp/batch.json "$base/v1/traces"
            i=$((i + 1))
        done
        echo "flood done: $batches batches of $per_batch spans, $(wc -c < /tmp/batch.json) bytes each"
        """;

    /// <summary>
    /// Sends what is not OTLP, each kind once, then a good request, and exits 7: bad JSON, bad protobuf, a body over
    /// the 4 MiB bound, a content type that is neither, metrics (not relayed), a good request with one span of bad
    /// ids in it, a path the endpoint does not serve, and last a good span that must arrive.
    /// </summary>
    public const string Malformed = """
        report bad-json --header 'Content-Type: application/json' --post-data '{"resourceSpans":[{"scopeSpans":[' "$base/v1/traces"
        report bad-protobuf --header 'Content-Type: application/x-protobuf' --post-data "$(printf '\377\377\377\377\377')" "$base/v1/traces"
        # Over the bound: wget writes the whole body before it reads, and dies of SIGPIPE when the endpoint refuses it
        # early, so nc sends it and prints the status line as soon as it comes.
        head -c 5242880 /dev/zero | tr '\0' ' ' > /tmp/big.json
        hostport=${base#http://}
        status=$({ printf 'POST /v1/traces HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 5242880\r\nConnection: close\r\n\r\n' "$hostport"; cat /tmp/big.json; } \
            | timeout 120 nc "${hostport%:*}" "${hostport##*:}" 2>&1 | head -n 1 | tr -d '\r')
        echo "oversized: $status"
        report wrong-type --header 'Content-Type: text/plain' --post-data 'hello' "$base/v1/traces"
        report metrics --header 'Content-Type: application/json' --post-data '{"resourceMetrics":[]}' "$base/v1/metrics"
        report bad-ids --header 'Content-Type: application/json' --post-data "$(export_of malformed "$(span malformed.BadIds 00000000000000000000000000000000),$(span malformed.Kept)")" "$base/v1/traces"
        report not-served --header 'Content-Type: application/json' --post-data '{}' "$base/nerdbox.services.task.v1.Task/Create"
        report good --header 'Content-Type: application/json' --post-data "$(export_of malformed "$(span malformed.After)")" "$base/v1/traces"
        exit 7
        """;

    /// <summary>
    /// From inside the container: the endpoint answers; the QEMU user-network gateway (<c>$1</c>) and a port the
    /// host listens on at its own non-loopback address (<c>$2:$3</c>) do not; and what the network namespace holds.
    /// </summary>
    public const string Isolation = """
        report endpoint --header 'Content-Type: application/json' --post-data "$(export_of isolation "$(span isolation.Reached)")" "$base/v1/traces"
        report gateway "http://$1/"
        report host "http://$2:$3/"
        echo "routes: $(ip route 2>&1 | tr '\n' ';')"
        echo "proc-route: $(tail -n +2 /proc/net/route | wc -l) entries"
        echo "links: $(ip -o link 2>&1 | awk '{print $2}' | tr '\n' ' ')"
        echo "devices: $(ls /dev | tr '\n' ' ')"
        """;
}
