using System.ComponentModel;
using System.Reflection;
using Icdiff.Corpora.AzureBlob;
using Icdiff.Dashboard;
using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.History;
using Icdiff.Index.Milvus;
using Icdiff.Imaging.Skia;
using Icdiff.Pipeline;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Icdiff.Silo;

/// <summary>
/// The silo's check of its own configuration, run before it starts and alone by <c>icdiff-silo --check-config</c>:
/// every key under <c>Icdiff:</c> must name a setting of a section the silo binds and convert to that setting's type,
/// every section must pass its options' validation, and a setting that this silo's roles (or Kubernetes hosting)
/// never read is reported as well. The silo refuses to start on <see cref="SettingProblemKind.Invalid"/> and logs
/// the other kinds as warnings; <c>--check-config</c> treats all three as errors. Nothing is connected to.
/// </summary>
public static class SiloSettingsCheck
{
    private const string Root = "Icdiff";

    // The sections the silo's composition binds: Program.cs and the AddXxx registrations it calls. Who reads a
    // setting follows where its consumer lives: the run, schedule and history-recording grains on coordinators, the
    // image pipeline (decoder included) and the worker grain on workers; corpora, models (the run grain reads a
    // model's manifest and fingerprint), the history store and the web host on every silo.
    private static readonly Section[] Sections =
    [
        new(IcdiffClusterOptions.SectionName, typeof(IcdiffClusterOptions), (o, s) => ((IcdiffClusterOptions)o).Validate(s.Environment), (setting, s) => setting switch
        {
            nameof(IcdiffClusterOptions.ClusterId) when s.Kubernetes => $"has no effect with {IcdiffClusterOptions.SectionName}:Kubernetes: Kubernetes hosting takes the cluster id from ORLEANS_CLUSTER_ID.",
            nameof(IcdiffClusterOptions.AdvertisedAddress) when s.Kubernetes => $"has no effect with {IcdiffClusterOptions.SectionName}:Kubernetes: Kubernetes hosting advertises POD_IP.",
            _ => null,
        }),
        new(AuditSiloOptions.SectionName, typeof(AuditSiloOptions), (o, _) => ((AuditSiloOptions)o).Validate(), (setting, s) => setting switch
        {
            // Each worker silo sizes its own share of the work and reports it to the coordinators' dispatchers.
            nameof(AuditSiloOptions.MaxShardsInFlight) or nameof(AuditSiloOptions.CheckpointItems) => WorkerOnly(s),
            nameof(AuditSiloOptions.ShardAttempts) or nameof(AuditSiloOptions.WorkerWaitTimeout) or nameof(AuditSiloOptions.StalledCallFactor) or nameof(AuditSiloOptions.StalledCallFloor) => CoordinatorOnly(s),
            _ => null,
        }),
        new(HistoryOptions.SectionName, typeof(HistoryOptions), (o, _) => ValidateHistory((HistoryOptions)o), (setting, s) => setting switch
        {
            // The store itself is opened by every silo (its dashboard); limits, webhook and progress belong to runs.
            nameof(HistoryOptions.Postgres) or nameof(HistoryOptions.SqlitePath) => null,
            _ => CoordinatorOnly(s),
        }),
        // Coordinators choose the backend and partition the gallery; workers hold the partitions and read candidates' tokens.
        new(GalleryIndexOptions.SectionName, typeof(GalleryIndexOptions), (o, _) => ((GalleryIndexOptions)o).Validate(), (_, _) => null),
        // Read by coordinators (the index grain writes the collection) and workers (they search it), only for the milvus backend.
        new(MilvusOptions.SectionName, typeof(MilvusOptions), (o, s) => { if (s.Milvus == true) { ((MilvusOptions)o).Validate(); } }, (_, s) => s.Milvus == false
            ? $"has no effect: {GalleryIndexOptions.SectionName}:Kind is not '{GalleryBackends.Milvus}'."
            : null),
        new(SchedulingOptions.SectionName, typeof(SchedulingOptions), (o, _) => ((SchedulingOptions)o).Validate(), (_, s) => CoordinatorOnly(s)),
        new(IcdiffDashboardOptions.SectionName, typeof(IcdiffDashboardOptions), (o, s) => ((IcdiffDashboardOptions)o).Validate(s.ListenUrl is { } url ? [url] : []), (_, _) => null),
        new(PipelineOptions.SectionName, typeof(PipelineOptions), (o, _) => ((PipelineOptions)o).Validate(), (_, s) => WorkerOnly(s)),
        new(DecoderOptions.SectionName, typeof(DecoderOptions), (o, _) => ((DecoderOptions)o).Validate(), (_, s) => WorkerOnly(s)),
        new(OnnxOptions.SectionName, typeof(OnnxOptions), (o, _) => ((OnnxOptions)o).Validate(), (_, _) => null),
        // The clients validate the options and parse the connection string, as the silo's first blob corpus would.
        new(BlobCorporaOptions.SectionName, typeof(BlobCorporaOptions), (o, _) => ValidateBlob((BlobCorporaOptions)o), (_, _) => null),
    ];

    /// <summary>The configuration sections the silo binds, e.g. <c>Icdiff:Cluster</c>.</summary>
    public static IReadOnlyList<string> SectionNames { get; } = [.. Sections.Select(s => s.Name)];

    /// <summary>The options types bound from <see cref="SectionNames"/>, in the same order.</summary>
    public static IReadOnlyList<Type> OptionsTypes { get; } = [.. Sections.Select(s => s.Type)];

    /// <summary>
    /// Every problem of <paramref name="configuration"/>, invalid values first. <paramref name="environment"/> looks up
    /// the process variables that Kubernetes hosting reads (default: this process's).
    /// </summary>
    public static IReadOnlyList<SettingProblem> Check(IConfiguration configuration, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var invalid = new List<SettingProblem>();
        var unknown = new List<SettingProblem>();
        var present = new List<(string Key, Section Section, string Setting)>();
        var unreadable = new HashSet<Section>();

        foreach (var (key, value) in configuration.AsEnumerable().Where(e => e.Value is not null).OrderBy(e => e.Key, StringComparer.OrdinalIgnoreCase))
        {
            var path = key.Split(ConfigurationPath.KeyDelimiter);
            if (!path[0].Equals(Root, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var section = path.Length > 1 ? Sections.FirstOrDefault(s => s.Name.Equals($"{Root}:{path[1]}", StringComparison.OrdinalIgnoreCase)) : null;
            if (section is null)
            {
                unknown.Add(new(SettingProblemKind.Unknown, key, $"{key} is not read by icdiff-silo: it reads the sections {string.Join(", ", Sections.Select(s => s.Name))}."));
                continue;
            }

            switch (Walk(section.Type, path.AsSpan(2)))
            {
                case (null, var parent):
                    unknown.Add(new(SettingProblemKind.Unknown, key, path.Length == 2 || !IsScalar(parent)
                        ? $"{key} is not a setting of icdiff-silo (settings there: {string.Join(", ", Settings(parent).Select(p => p.Name))})."
                        : $"{key} is not a setting of icdiff-silo: {string.Join(':', path[..^1])} is a value, not a section."));
                    break;
                case ({ } leaf, _) when !Converts(leaf, value!):
                    // The value is never quoted: it may be a secret.
                    invalid.Add(new(SettingProblemKind.Invalid, key, $"{key} must be {Describe(leaf)}; its value cannot be read as one."));
                    unreadable.Add(section);
                    break;
                default:
                    // Keys match settings whatever their case; the rules name settings as declared.
                    present.Add((key, section, Settings(section.Type).First(p => p.Name.Equals(path[2], StringComparison.OrdinalIgnoreCase)).Name));
                    break;
            }
        }

        var bound = new List<(Section Section, object Options)>();
        foreach (var section in Sections.Where(s => !unreadable.Contains(s)))
        {
            try
            {
                bound.Add((section, configuration.GetSection(section.Name).Get(section.Type) ?? Activator.CreateInstance(section.Type)!));
            }
            catch (InvalidOperationException)
            {
                // The binder's message quotes the value; each key converted above, so this is a shape the walk missed.
                invalid.Add(new(SettingProblemKind.Invalid, section.Name, $"{section.Name} cannot be bound to its options."));
            }
        }

        var cluster = bound.Select(b => b.Options).OfType<IcdiffClusterOptions>().FirstOrDefault();
        var shape = new Shape(cluster?.Kubernetes ?? false, null, null, null, environment ?? Environment.GetEnvironmentVariable)
        {
            // Known whenever the address is one, so a missing dashboard key shows beside any other cluster problem.
            ListenUrl = cluster is not null && System.Net.IPAddress.TryParse(cluster.HttpAddress, out _) ? cluster.ListenUrl : null,
        };
        foreach (var (section, options) in bound)
        {
            try
            {
                section.Validate(options, shape);
                if (options is GalleryIndexOptions index)
                {
                    shape = shape with { Milvus = index.IsMilvus };
                }

                if (options is AuditSiloOptions audit)
                {
                    shape = shape with { Worker = audit.IsWorker, Coordinator = audit.IsCoordinator, Roles = audit.Roles };
                }
            }
            catch (ArgumentException ex)
            {
                // Options list every problem they find, one per line.
                invalid.AddRange(ex.Message.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Select(line => new SettingProblem(SettingProblemKind.Invalid, section.Name, line)));
            }
        }

        var notRead = present
            .Select(p => p.Section.NotRead(p.Setting, shape) is { } why ? new SettingProblem(SettingProblemKind.NotRead, p.Key, $"{p.Key} {why}") : null)
            .OfType<SettingProblem>();
        return [.. invalid, .. unknown, .. notRead];
    }

    private static string? WorkerOnly(Shape shape) => shape.Worker == false
        ? $"is read only by silos with the {SiloRoles.Worker} role; this silo's {AuditSiloOptions.SectionName}:Roles are '{shape.Roles}'."
        : null;

    private static string? CoordinatorOnly(Shape shape) => shape.Coordinator == false
        ? $"is read only by silos with the {SiloRoles.Coordinator} role; this silo's {AuditSiloOptions.SectionName}:Roles are '{shape.Roles}'."
        : null;

    private static void ValidateBlob(BlobCorporaOptions options) => _ = new BlobServiceClients(Options.Create(options));

    private static void ValidateHistory(HistoryOptions options)
    {
        options.Validate();
        if (string.IsNullOrWhiteSpace(options.Postgres))
        {
            return;
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(options.Postgres);
        }
        catch (ArgumentException ex)
        {
            // Npgsql's message names the keyword or position, never a value.
            throw new ArgumentException($"{HistoryOptions.SectionName}:Postgres is not a valid Npgsql connection string: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Follows a key's segments through the options type as the configuration binder does (properties by name, any key
    /// of a dictionary, an index of a list), returning the setting's type, or null and the last type reached.
    /// The binder has ErrorOnUnknownConfiguration, but it stops at the first type and does not name the whole key.
    /// </summary>
    private static (Type? Leaf, Type Parent) Walk(Type type, ReadOnlySpan<string> path)
    {
        foreach (var segment in path)
        {
            if (IsScalar(type))
            {
                return (null, type);
            }

            if (DictionaryValueType(type) is { } value)
            {
                type = value;
            }
            else if (ElementType(type) is { } element && int.TryParse(segment, out _))
            {
                type = element;
            }
            else if (Settings(type).FirstOrDefault(p => p.Name.Equals(segment, StringComparison.OrdinalIgnoreCase)) is { } property)
            {
                type = property.PropertyType;
            }
            else
            {
                return (null, type);
            }
        }

        return IsScalar(type) ? (type, type) : (null, type);
    }

    // What the binder binds: public properties it can set, and collections it can fill through a getter.
    private static IEnumerable<PropertyInfo> Settings(Type type) => type
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod?.IsPublic == true
            && (p.SetMethod?.IsPublic == true || DictionaryValueType(p.PropertyType) is not null || ElementType(p.PropertyType) is not null));

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri);
    }

    private static Type? DictionaryValueType(Type type) => type.GetInterfaces().Append(type)
        .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>) && i.GenericTypeArguments[0] == typeof(string))
        ?.GenericTypeArguments[1];

    private static Type? ElementType(Type type) => type == typeof(string) || DictionaryValueType(type) is not null
        ? null
        : type.IsArray ? type.GetElementType() : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IList<>))?.GenericTypeArguments[0];

    /// <summary>Whether the binder can convert <paramref name="value"/>: the same converter, the same culture, empty as null for nullables.</summary>
    private static bool Converts(Type type, string value)
    {
        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            if (value.Length == 0)
            {
                return true;
            }

            type = inner;
        }

        if (type == typeof(string))
        {
            return true;
        }

        try
        {
            _ = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException or NotSupportedException)
        {
            return false;
        }
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(TimeSpan) => "a time span (hh:mm:ss, e.g. 00:02:00)",
            _ when type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) => "a whole number",
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number (0.2, not 0,2)",
            _ when type.IsEnum => $"one of {string.Join(", ", Enum.GetNames(type))}",
            _ => $"a {type.Name}",
        };
    }

    private sealed record Section(string Name, Type Type, Action<object, Shape> Validate, Func<string, Shape, string?> NotRead);

    /// <summary>What the silo is, as far as its valid settings tell: roles are null when Icdiff:Silo is invalid.</summary>
    private sealed record Shape(bool Kubernetes, bool? Worker, bool? Coordinator, string? Roles, Func<string, string?> Environment)
    {
        public string? ListenUrl { get; init; }

        /// <summary>Whether the gallery index is in Milvus; null when Icdiff:Index is invalid.</summary>
        public bool? Milvus { get; init; }
    }
}
