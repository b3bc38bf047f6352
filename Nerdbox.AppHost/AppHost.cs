using Nerdbox.AppHost.Jaeger;
using Nerdbox.AppHost.Shim;

// The app: the shim (boots VMs, serves the task API), Jaeger, and the Aspire dashboard.
// Both the dashboard (Aspire's own OTLP wiring) and Jaeger receive every span, guest spans included.
var builder = DistributedApplication.CreateBuilder(args);

var backend = builder.AddBackendParameter();
var accelerator = builder.AddAcceleratorParameter();
var workKey = builder.AddWorkKeyParameter();
var jaeger = builder.AddJaeger("jaeger");
var shim = builder.AddShim("shim")
    .WithVmParameters(backend, accelerator)
    .WithWorkKey(workKey)
    .WithOtlpExporterTo(jaeger)
    .WithSampleRunCommand(workKey, jaeger);

builder.Build().Run();
