using Grpc.Core;

// The generated method descriptors of the services the guest agent serves, made public. The agent binds each one
// to its handler with a direct generic call: through the generated BindService every binding is a generic virtual
// call, and NativeAOT builds those instantiations' types at run time, which under emulation cost the agent's start
// tens of milliseconds.

namespace Nerdbox.Api.System.V1
{
    public static partial class System
    {
        public static class Methods
        {
            public static Method<InfoRequest, InfoResponse> Info => __Method_Info;
            public static Method<SetTimeRequest, SetTimeResponse> SetTime => __Method_SetTime;
            public static Method<ProbeClockRequest, ProbeClockResponse> ProbeClock => __Method_ProbeClock;
            public static Method<ShutdownRequest, ShutdownResponse> Shutdown => __Method_Shutdown;
            public static Method<KernelLogRequest, KernelLogResponse> KernelLog => __Method_KernelLog;
        }
    }
}

namespace Nerdbox.Api.Bundle.V1
{
    public static partial class Bundle
    {
        public static class Methods
        {
            public static Method<CreateBundleRequest, CreateBundleResponse> Create => __Method_Create;
        }
    }
}

namespace Nerdbox.Api.Task.V1
{
    public static partial class Task
    {
        public static class Methods
        {
            public static Method<CreateTaskRequest, CreateTaskResponse> Create => __Method_Create;
            public static Method<StartTaskRequest, StartTaskResponse> Start => __Method_Start;
            public static Method<WaitTaskRequest, WaitTaskResponse> Wait => __Method_Wait;
            public static Method<KillTaskRequest, KillTaskResponse> Kill => __Method_Kill;
            public static Method<DeleteTaskRequest, DeleteTaskResponse> Delete => __Method_Delete;
            public static Method<TaskStateRequest, TaskStateResponse> State => __Method_State;
            public static Method<TaskOutputRequest, OutputChunk> Output => __Method_Output;
        }
    }
}

namespace Nerdbox.Api.Traces.V1
{
    public static partial class Traces
    {
        public static class Methods
        {
            public static Method<StreamRequest, SpanBatch> Stream => __Method_Stream;
            public static Method<DrainRequest, DrainResponse> Drain => __Method_Drain;
        }
    }
}
