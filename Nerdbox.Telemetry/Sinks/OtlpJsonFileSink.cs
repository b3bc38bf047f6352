using Nerdbox.Api.Otlp;
using Nerdbox.Telemetry.Otlp;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// Appends OTLP/JSON lines (one export request per line) to a file the trace viewer and other
/// OTLP file readers can load. Queued like the remote sinks: a slow disk does not slow a boot.
/// </summary>
public sealed class OtlpJsonFileSink : QueuedSpanSink
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private readonly string _path;
    private FileStream? _file;

    public OtlpJsonFileSink(string path, string? name = null, ILogger? logger = null, SinkOptions? options = null)
        : base(name ?? "file", $"{name ?? "file"} (otlp-json {Path.GetFullPath(path)})", OtlpDestination.DefaultTimeout, options, logger ?? NullLogger.Instance)
    {
        _path = Path.GetFullPath(path);
    }

    /// <summary>The file written, as a full path.</summary>
    public string FilePath => _path;

    protected override async Task<ExportOutcome> SendAsync(ExportTraceServiceRequest request, CancellationToken cancellationToken)
    {
        var line = Utf8.GetBytes(OtlpJson.Format(request) + "\n");
        if (_file is null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            // Readers may tail the file while we write; whole lines are written in one call.
            _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
        }
        try
        {
            await _file.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            await _file.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Reopen next time: the file may have been removed or the disk filled up.
            await _file.DisposeAsync().ConfigureAwait(false);
            _file = null;
            throw;
        }
        return ExportOutcome.Accepted;
    }

    protected override async ValueTask DisposeTransportAsync()
    {
        if (_file is not null) await _file.DisposeAsync().ConfigureAwait(false);
    }
}
