namespace Coral.Pipeline.Names;

/// <summary>Derived names, built from the generated constants so they never drift.</summary>
public static partial class Queues
{
    /// <summary>The Functions host moves a message here after maxDequeueCount failed tries.</summary>
    public static string PoisonOf(string queue) => queue + "-poison";
}
