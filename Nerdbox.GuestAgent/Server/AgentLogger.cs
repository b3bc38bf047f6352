using Microsoft.Extensions.Logging.Abstractions;
using Nerdbox.GuestAgent.Init;

namespace Nerdbox.GuestAgent.Server;

/// <summary>
/// The server's own log. A host process writes its warnings through <see cref="AgentLog"/>; as the VM's init,
/// whose standard error is the serial console, nothing is logged on the boot path.
/// </summary>
internal sealed class AgentLogger : ILoggerProvider, ILogger
{
    public static ILoggerFactory Factory(bool isPid1) =>
        isPid1 ? NullLoggerFactory.Instance : new LoggerFactory([new AgentLogger()]);

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        AgentLog.Write($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.Message)}");
    }

    public void Dispose() { }
}
