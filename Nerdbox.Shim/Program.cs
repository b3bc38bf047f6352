using Nerdbox.Engine.Bundles;
using Nerdbox.Shim.Cli;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;

// nerdbox-shim: the host service (serve, the default) and the CLI verbs.
const string usage = """
    usage: nerdbox-shim [VERB] ...
      serve                      the task API and health endpoints (default)
      run BUNDLE                 boot a VM, run the bundle's container, print its output and timings
      image build                build the guest image now (run builds it when needed)
      sample DIR [-- CMD ...]    make a busybox OCI bundle in DIR
      bench boot [--count N]     boot N VMs and print boot-phase percentiles
      bench relay|trace-overhead|clock|otlp-down   tracing benchmarks (see bench help)
      trace show [ID|latest] --source SOURCE   print a trace as a tree or Mermaid gantt (see trace help)
    """;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};

var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
try
{
    switch (verb)
    {
        case "run":
            return await RunCommand.RunAsync(rest, cts.Token);
        case "image":
            await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory, l => Console.Error.WriteLine("nerdbox: " + l)).EnsureAsync(cts.Token);
            return 0;
        case "sample":
        {
            var dash = Array.IndexOf(rest, "--");
            var cmd = dash >= 0 ? rest[(dash + 1)..] : ["sh", "-c", "echo hello from a nerdbox container; uname -r"];
            var dir = (dash >= 0 ? rest[..dash] : rest).FirstOrDefault() ?? throw new ArgumentException("sample wants a directory");
            await SampleBundle.CreateAsync(dir, cmd, cts.Token);
            Console.Error.WriteLine($"nerdbox: bundle written to {dir}");
            return 0;
        }
        case "bench":
            return await BenchCommand.RunAsync(rest, cts.Token);
        case "trace":
            return await TraceCommand.RunAsync(rest, cts.Token);
        case Nerdbox.Engine.Vm.Libkrun.HelperProtocol.Verb:
            // Hidden: one libkrun VM, started by the shim itself (see HelperProtocol).
            return Nerdbox.Engine.Vm.Libkrun.VmHelper.Run(rest);
        case "serve":
            return await Nerdbox.Shim.Hosting.ShimHost.RunAsync(rest);
        case "help" or "--help" or "-h":
            Console.WriteLine(usage);
            return 0;
        default:
            Console.Error.WriteLine($"unknown verb '{verb}'\n{usage}");
            return 2;
    }
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
