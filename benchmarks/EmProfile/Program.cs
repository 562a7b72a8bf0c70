// Profiling harness: dotnet run -c Release --project benchmarks/EmProfile -- <mode> [args]
//   fft [M]                     FFTW M×M r2c/c2r throughput, one thread
//   lanefft [M]                 the E-step's lane-batched M×M FFTs (double and float; Vector<T> and 512-bit lanes), one thread
//   estep P K ellMax threads [cutoff [double|single [laneBits]]]   one E-step + M-step at L = 17 on synthetic patches
using System.Diagnostics;
using System.Numerics;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

unsafe
{
    string mode = args.Length > 0 ? args[0] : "fft";
    if (mode == "fft")
    {
        int m = args.Length > 1 ? int.Parse(args[1]) : 36;
        using var fft = new RealFft2D(m, m);
        var r = Fftw.Alloc<double>(m * m); var c = Fftw.Alloc<Complex>(m * (m / 2 + 1));
        var rnd = new Random(1); for (int i = 0; i < m * m; i++) r[i] = rnd.NextDouble();
        fft.Forward(r, c);
        int n = 200000;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) { fft.Forward(r, c); }
        Console.WriteLine($"r2c {m}x{m}: {n / sw.Elapsed.TotalSeconds / 1e6:0.000} M/s");
        sw.Restart();
        for (int i = 0; i < n; i++) { fft.Backward(c, r); }
        Console.WriteLine($"c2r {m}x{m}: {n / sw.Elapsed.TotalSeconds / 1e6:0.000} M/s");
        return;
    }
    if (mode == "lanefft")
    {
        int m = args.Length > 1 ? int.Parse(args[1]) : 36;
        LaneBench<double, VectorLanes<double>>(m); LaneBench<float, VectorLanes<float>>(m);
        LaneBench<double, Vector512Lanes<double>>(m); LaneBench<float, Vector512Lanes<float>>(m);
        return;
    }
    if (mode == "estep")
    {
        int p = int.Parse(args[1]), k = int.Parse(args[2]), ell = int.Parse(args[3]), threads = int.Parse(args[4]);
        double cutoff = args.Length > 5 ? double.Parse(args[5]) : 0;
        var precision = args.Length > 6 ? Enum.Parse<EStepPrecision>(args[6], true) : EStepPrecision.Double;
        int laneBits = args.Length > 7 ? int.Parse(args[7]) : 0;   // 0: the E-step's own choice; 256 (Vector<T>) or 512
        int l = 17;
        var model = FourierBesselModel.Get(l, ell);
        var rot = RotationGrid.SuperFibonacci(k);
        var truth = Phantom.Create(l);
        var x = FourierBesselTransform.Analyze(truth, ell).Coefficients;
        { var b0 = new double[l * l * x.Length]; model.ProjectionMatrix(rot[0], b0); double en = 0;
          for (int i = 0; i < l * l; i++) { double s = 0; for (int j = 0; j < x.Length; j++) s += b0[i * x.Length + j] * x[j]; en += s * s; }
          double sc = Math.Sqrt(l * l / en); for (int j = 0; j < x.Length; j++) x[j] *= sc; }
        var patches = Synth(model, rot, x, p, 0.4, 3);
        var mb = Enumerable.Range(0, p).ToArray();
        var sw = Stopwatch.StartNew();
        var e = EStep.Run(model, rot.Rotations, x, patches, mb, 1.0, 0.4, new EStepOptions { Threads = threads, PosteriorCutoff = cutoff, Precision = precision, LaneBits = laneBits });
        double te = sw.Elapsed.TotalSeconds; sw.Restart();
        Console.WriteLine($"E-step profile: prepare {e.PhaseSeconds[0]:0.00} s, phase A {e.PhaseSeconds[1]:0.00} s, phase B {e.PhaseSeconds[2]:0.00} s, finish {e.PhaseSeconds[3]:0.00} s");
        var eq = MStep.Build(model, rot.Rotations, e, threads);
        double tb = sw.Elapsed.TotalSeconds; sw.Restart();
        if (Environment.GetEnvironmentVariable("EMPROFILE_DIRECT_MSTEP") == "1")
        {
            MStep.Build(new PlainModel(model), rot.Rotations, e, threads);
            Console.WriteLine($"M build through B(ω) matrices (no factoring): {sw.Elapsed.TotalSeconds:0.00} s");
            sw.Restart();
        }
        var sol = MStep.Solve(eq);
        double ts = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"P={p} K={k} ℓmax={ell} n={model.ParameterCount} threads={threads} cutoff={cutoff} {precision} lanes={(EStep.Wide(new EStepOptions { LaneBits = laneBits }) ? 512 : 256)}: E {te:0.00} s ({(double)p * k / te / 1e6:0.000} M pairs/s), M build {tb:0.00} s, solve {ts:0.00} s; LL {e.LogLikelihood:R} v {e.EmptyPosterior:R} skipped {e.SkippedPairs}/{e.PairCount} x0 {sol.Coefficients[0]:R}");
        return;
    }
}

static PatchSet Synth(ILinearProjectionModel model, RotationSet rot, double[] x, int count, double emptyFraction, int seed)
{
    // Patches by eq. (18): empty or B(ω)x at a random admissible shift; σ² = 1 and signal scaled to SNR ≈ 1.
    int l = model.ImageSize, l2 = l * l;
    var rng = new Random(seed);
    var proj = new double[l2]; var b = new double[l2 * x.Length];
    double scale = 1;
    var data = new double[count * l2];
    for (int q = 0; q < count; q++)
    {
        if (rng.NextDouble() >= emptyFraction)
        {
            model.ProjectionMatrix(rot[rng.Next(rot.Count)], b);
            for (int i = 0; i < l2; i++) { double s = 0; for (int j = 0; j < x.Length; j++) s += b[i * x.Length + j] * x[j]; proj[i] = s * scale; }
            int sy, sx; do { sy = rng.Next(2 * l); sx = rng.Next(2 * l); } while (sy == l || sx == l);
            for (int y = 0; y < l; y++) for (int xx = 0; xx < l; xx++)
            {
                int u = (y + sy) % (2 * l), v = (xx + sx) % (2 * l);
                if (u < l && v < l) data[q * l2 + y * l + xx] = proj[u * l + v];
            }
        }
        for (int i = 0; i < l2; i++) data[q * l2 + i] += Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
    }
    return new PatchSet(l, data, Enumerable.Range(0, count).Select(i => new PatchOrigin(0, 0, i * l)).ToArray(), null, 1.0);
}

static unsafe void LaneBench<T, TV>(int m) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T> where TV : unmanaged, ILanes<TV, T>
{
    var lf = new LaneFft2D<T, TV>(m);
    var real = LaneFft2D<T, TV>.Alloc(lf.RealLength); var re = LaneFft2D<T, TV>.Alloc(lf.ComplexLength); var im = LaneFft2D<T, TV>.Alloc(lf.ComplexLength);
    using var sc = new LaneFft2D<T, TV>.Scratch(lf);
    var rnd = new Random(1); for (int i = 0; i < lf.RealLength; i++) real[i] = TV.Create(T.CreateTruncating(rnd.NextDouble()));
    int w = LaneFft2D<T, TV>.Lanes, n = 200000 / w;
    for (int i = 0; i < 2000; i++) lf.Forward(real, re, im, sc);
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < n; i++) lf.Forward(real, re, im, sc);
    Console.WriteLine($"lane {typeof(T).Name} {typeof(TV).Name} r2c {m}x{m}: {sw.Elapsed.TotalSeconds / (n * w) * 1e6:0.000} µs per transform ({w} lanes)");
    for (int i = 0; i < 2000; i++) lf.Backward(re, im, real, m, sc);
    sw.Restart();
    for (int i = 0; i < n; i++) lf.Backward(re, im, real, m, sc);
    Console.WriteLine($"lane {typeof(T).Name} {typeof(TV).Name} c2r {m}x{m}: {sw.Elapsed.TotalSeconds / (n * w) * 1e6:0.000} µs per transform");
}

/// <summary>The Fourier–Bessel model seen only through ILinearProjectionModel (the M-step's unfactored path).</summary>
sealed class PlainModel : ILinearProjectionModel
{
    private readonly FourierBesselModel _m;
    public PlainModel(FourierBesselModel m) => _m = m;
    public int ImageSize => _m.ImageSize;
    public int ParameterCount => _m.ParameterCount;
    public void ProjectionMatrix(CryoEmPS.Core.Rotations.Rotation rotation, Span<double> destination) => _m.ProjectionMatrix(rotation, destination);
}
