namespace Icdiff.Grains;

/// <summary>
/// The silo role whose silos host a grain class (<see cref="SiloRoles"/>): a silo without that role drops the class
/// from its grain types at start, so placement never picks it for that grain. Classes without it are hosted by every
/// silo. The backends' grains carry it as the audit grains do, so the host needs no list of them.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class HostedOnAttribute(string role) : Attribute
{
    public string Role { get; } = role;
}
