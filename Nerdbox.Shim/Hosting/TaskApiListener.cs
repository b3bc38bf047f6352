using System.Net;

namespace Nerdbox.Shim.Hosting;

/// <summary>
/// gRPC (the task API, its health and reflection) only on the task API's own listener: the unix socket, or its
/// loopback port. The HTTP listeners may be opened beyond loopback; whatever protocol they are set to speak, a gRPC
/// call arriving there is answered 404, so that nobody creates a task through them.
/// </summary>
public static class TaskApiListener
{
    public static void UseTaskApiOnItsListener(this WebApplication app, int? taskApiPort) => app.Use(async (http, next) =>
    {
        if (http.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true && !IsTaskApi(http.Connection, taskApiPort))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        await next(http);
    });

    private static bool IsTaskApi(ConnectionInfo connection, int? taskApiPort) => taskApiPort is { } port
        ? connection.LocalPort == port && connection.LocalIpAddress is { } local && IPAddress.IsLoopback(local)
        : connection.LocalIpAddress is null; // a unix socket has no IP address
}
