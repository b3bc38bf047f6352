using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;
using Nerdbox.Shim.Cli;

// nerdbox-shim: the host service (serve, the default) and the CLI verbs; see ShimCli.
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};

try
{
    return await ShimCli.RunAsync(args, Console.Out, Console.Error, cts.Token);
}
catch (Exception e) when (e is BundleException or VmException or GuestImageException or ArgumentException or Nerdbox.Telemetry.Otlp.OtlpConfigurationException)
{
    Console.Error.WriteLine("nerdbox: error: " + e.Message);
    return 1;
}
catch (Grpc.Core.RpcException e)
{
    Console.Error.WriteLine($"nerdbox: error: the guest agent answered {e.StatusCode}: {e.Status.Detail}");
    return 1;
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    Console.Error.WriteLine("nerdbox: cancelled");
    return 130;
}
