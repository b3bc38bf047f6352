namespace Nerdbox.Shim.Hosting;

/// <summary>The long-running shim: the task API over gRPC and the health endpoints.</summary>
public static class ShimHost
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("nerdbox: serve is not built yet");
        return Task.FromResult(2);
    }
}
