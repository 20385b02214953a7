namespace Icdiff.Grains;

/// <summary>Event ids of the grains: 4000-4099.</summary>
public static class GrainEventIds
{
    public const int GallerySealed = 4000;
    public const int GalleryIndexDiscarded = 4001;
    public const int RunStarted = 4002;
    public const int RunFinished = 4003;
    public const int RunFailed = 4004;
    public const int ShardRetried = 4005;
    public const int DuplicateShard = 4006;
    public const int RunResumed = 4007;
    public const int RunSuperseded = 4008;
    public const int RunClusterFault = 4009;
    public const int WaitingForWorker = 4010;
    public const int RunRetryingFailed = 4011;
    public const int RunResumedOnRequest = 4012;
    public const int RunEndNotStored = 4013;
    public const int HistoryNotRecorded = 4014;
    public const int RunFlagged = 4015;
    public const int ScheduleFired = 4016;
    public const int ScheduleSkipped = 4017;
    public const int ScheduleFailed = 4018;
    public const int ScheduleRemoved = 4019;
    public const int WorkerJoined = 4020;
    public const int WorkerLeft = 4021;
    public const int WorkerCapacityUnknown = 4022;
    public const int StoredCopyRestored = 4023;
    public const int PartitionSealed = 4024;
    public const int PartitionDiscarded = 4025;
    public const int MilvusIndexSealed = 4026;
    public const int MilvusCatalogDiscarded = 4027;
    public const int WorkerCallStalled = 4028;
}
