namespace Nerdbox.Engine.Vm.Qemu;

/// <summary>
/// Guest context ids for vhost-vsock: unique among this shim's running VMs, from 3 up (0-2 are
/// reserved). Separate shims start from ranges apart (by process id); should two still collide,
/// QEMU refuses the taken id at start and says so.
/// </summary>
internal static class GuestCids
{
    public const uint First = 3;
    private static readonly HashSet<uint> InUse = [];
    private static uint _next = First + (uint)(Environment.ProcessId % 100_000) * 64;

    public static uint Allocate()
    {
        lock (InUse)
        {
            while (_next < First || !InUse.Add(_next)) _next++;
            return _next++;
        }
    }

    public static void Release(uint cid)
    {
        lock (InUse) InUse.Remove(cid);
    }
}
