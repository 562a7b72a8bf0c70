# Invoke-ApproxEm: a small end-to-end run, bad input with stable ErrorIds, and kill -9 + resume giving bit-identical coefficients.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Add-Type -LiteralPath (Join-Path (Split-Path $script:ModulePath) 'CryoEmPS.Core.dll')

    # Patches of side $L: a Gaussian blob at a random place in about 60% of them, plus white noise of variance $Sigma2.
    function New-TestPatchSet([int] $L = 9, [int] $Count = 40, [double] $Sigma2 = 0.25, [int] $Seed = 1, [double] $NoiseVariance = $Sigma2) {
        $rng = [Random]::new($Seed)
        $data = [double[]]::new($Count * $L * $L)
        for ($q = 0; $q -lt $Count; $q++) {
            $hasBlob = $rng.NextDouble() -lt 0.6
            $cy = $rng.Next(-$L + 2, 2 * $L - 2); $cx = $rng.Next(-$L + 2, 2 * $L - 2)
            for ($i = 0; $i -lt $L * $L; $i++) {
                $y = [Math]::Floor($i / $L); $x = $i % $L
                $v = [Math]::Sqrt($Sigma2) * [Math]::Sqrt(-2 * [Math]::Log(1 - $rng.NextDouble())) * [Math]::Cos(2 * [Math]::PI * $rng.NextDouble())
                if ($hasBlob) { $v += 3 * [Math]::Exp(-(($y - $cy) * ($y - $cy) + ($x - $cx) * ($x - $cx)) / 4) }
                $data[$q * $L * $L + $i] = $v
            }
        }
        $origins = [CryoEmPS.Core.Patches.PatchOrigin[]]::new($Count)
        for ($q = 0; $q -lt $Count; $q++) { $origins[$q] = [CryoEmPS.Core.Patches.PatchOrigin]::new(0, 0, $q * $L) }
        [CryoEmPS.Core.Patches.PatchSet]::new($L, $data, $origins, $null, $NoiseVariance, $null)
    }

    function New-TestVolume([int] $L = 9, [double] $Width = 2.0) {
        $v = [CryoEmPS.Core.Volumes.Volume]::new($L, $null, 1.5, 'blob')
        $c = [Math]::Floor($L / 2)
        for ($z = 0; $z -lt $L; $z++) { for ($y = 0; $y -lt $L; $y++) { for ($x = 0; $x -lt $L; $x++) {
            $d2 = ($z - $c) * ($z - $c) + ($y - $c) * ($y - $c) + ($x - $c - 1) * ($x - $c - 1)
            $v.Data[($z * $L + $y) * $L + $x] = [Math]::Exp(-$d2 / (2 * $Width * $Width))
        } } }
        $v
    }

    $script:Patches = New-TestPatchSet
    $script:Init = New-TestVolume
    $script:Small = @{ EllMax = 2, 4; RotationCount = 40; StochasticFactor = 1; MaxIterations = 2; Seed = 11; ThrottleLimit = 2 }
}

Describe 'Invoke-ApproxEm' {
    It 'runs a small two-stage reconstruction and reports its history' {
        $r = $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init @script:Small -Reference $script:Init
        $r | Should -BeOfType CryoEmPS.Core.Reconstruction.ApproxEmResult
        $r.Volume.SizeX | Should -Be 9
        $r.FourierBesselVolume.EllMax | Should -Be 4
        $r.History.Count | Should -Be 6
        ($r.History | ForEach-Object Stage) -join ',' | Should -Be '1,1,1,2,2,2'
        $r.Seed | Should -Be 11
        # σ² was not given: estimated by the M-steps, close to the 0.25 the patches were made with.
        $r.NoiseVarianceEstimated | Should -BeTrue
        $r.NoiseVariance | Should -BeGreaterThan 0.2
        $r.NoiseVariance | Should -BeLessThan 0.3
        [double]::IsNaN($r.History[-1].FscShell) | Should -BeFalse
        $s1 = $r.History | Where-Object Stage -eq 1
        $s1[2].LogLikelihood | Should -BeGreaterOrEqual $s1[0].LogLikelihood
        ($r | Out-String) | Should -Match 'LL/patch'
    }

    It 'is repeatable with the same seed' {
        $a = $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init @script:Small
        $b = $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init @script:Small
        ($a.Coefficients -join ',') | Should -Be ($b.Coefficients -join ',')
    }

    It 'warns when it starts from a random volume' {
        $null = $script:Patches | Invoke-ApproxEm -EllMax 2 -RotationCount 20 -MaxIterations 1 -Seed 3 -WarningVariable w -WarningAction SilentlyContinue
        ($w -join ' ') | Should -Match 'random'
    }

    It 'refuses <Name>' -ForEach @(
        @{ Name = 'a prior factor T of 0'; Id = 'Tau2FudgeOutOfRange'; Patches = { $script:Patches }; Extra = @{ Prior = 'Gaussian'; Tau2Fudge = 0 } }
        @{ Name = 'a prior factor T of NaN'; Id = 'Tau2FudgeOutOfRange'; Patches = { $script:Patches }; Extra = @{ Tau2Fudge = [double]::NaN } }
        @{ Name = 'half-sets of too few patches'; Id = 'HalfSetTooSmall'; Patches = { New-TestPatchSet -Count 5 }; Extra = @{ HalfSet = $true } }
        @{ Name = 'a held-out fraction of 0.5'; Id = 'HeldOutFractionOutOfRange'; Patches = { $script:Patches }; Extra = @{ HeldOutFraction = 0.5 } }
        @{ Name = 'a held-out fraction of 0'; Id = 'HeldOutFractionOutOfRange'; Patches = { $script:Patches }; Extra = @{ HeldOutFraction = 0 } }
        @{ Name = 'a held-out fraction of NaN'; Id = 'HeldOutFractionOutOfRange'; Patches = { $script:Patches }; Extra = @{ HeldOutFraction = [double]::NaN } }
        @{ Name = 'adaptive marching without a criterion'; Id = 'AdaptiveMarchingNeedsCriterion'; Patches = { $script:Patches }; Extra = @{ Marching = 'Adaptive' } }
        @{ Name = 'a non-positive noise variance'; Id = 'NoiseVarianceInvalid'; Patches = { $script:Patches }; Extra = @{ NoiseVariance = 0 } }
        @{ Name = 'S outside (0, 1]'; Id = 'StochasticFactorOutOfRange'; Patches = { $script:Patches }; Extra = @{ StochasticFactor = 1.5 } }
        @{ Name = 'schedule arrays of different lengths'; Id = 'ScheduleLengthMismatch'; Patches = { $script:Patches }; Extra = @{ MaxIterations = 1, 2, 3 } }
        @{ Name = 'a non-increasing ℓmax'; Id = 'EllMaxNotIncreasing'; Patches = { $script:Patches }; Extra = @{ EllMax = 4, 2 } }
        @{ Name = 'an empty patch set'; Id = 'EmptyPatchSet'; Patches = { [CryoEmPS.Core.Patches.PatchSet]::new(9, [double[]]::new(0), [CryoEmPS.Core.Patches.PatchOrigin[]]::new(0), $null, 1.0, $null) }; Extra = @{} }
        @{ Name = 'an initial volume of another size'; Id = 'InitialVolumeSizeMismatch'; Patches = { New-TestPatchSet -L 11 -Count 5 }; Extra = @{} }
    ) {
        $p = & $Patches
        $splat = @{ InitialVolume = $script:Init; EllMax = 2; RotationCount = 10; MaxIterations = 1; Seed = 1 }
        foreach ($k in $Extra.Keys) { $splat[$k] = $Extra[$k] }
        { Invoke-ApproxEm -PatchSet $p @splat } | Should -Throw -ErrorId "$Id,CryoEmPS.Commands.InvokeApproxEmCommand"
    }

    It 'estimates σ² when the patch set carries none (imported micrographs)' {
        $p = New-TestPatchSet -NoiseVariance ([double]::NaN)
        $r = $p | Invoke-ApproxEm -InitialVolume $script:Init -EllMax 2 -RotationCount 10 -MaxIterations 2 -Seed 1
        $r.NoiseVarianceEstimated | Should -BeTrue
        $r.NoiseVariance | Should -BeGreaterThan 0
        $r.NoiseVariance | Should -BeLessThan $r.InitialNoiseVariance
        $r.History[-1].NoiseVariance | Should -Be $r.NoiseVariance
    }

    It 'runs gold-standard half-sets and reports the half-map resolution' {
        # Without the prior the History's half-map FSC is that of the returned half maps (with it, of the unregularised halves).
        $r = $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init -EllMax 2 -RotationCount 10 -MaxIterations 2 -Seed 1 -HalfSet
        $r.HalfVolume.Count | Should -Be 2
        $r.HalfSets.First.Count | Should -BeGreaterThan 0
        @($r.History | Where-Object Best).Count | Should -Be 1
        # Stage 1's iteration 0 is the start in both halves: no half-map number there; every later row has one.
        [double]::IsNaN($r.History[0].HalfMapFscShell) | Should -BeTrue
        $r.History | Select-Object -Skip 1 | ForEach-Object { [double]::IsNaN($_.HalfMapFscShell) | Should -BeFalse }
        $fsc = Measure-Fsc -HalfVolume $r.HalfVolume
        $fsc.Threshold | Should -Be 0.143
        # The returned half maps are those of the best row (one stage, so no lift): their FSC is that row's half-map shell.
        $fsc.CrossingShell | Should -BeGreaterThan ($r.HalfMapFscShell - 1e-9)
        $fsc.CrossingShell | Should -BeLessThan ($r.HalfMapFscShell + 1e-9)
        ($r | Measure-Fsc -Reference $r.Volume).Threshold | Should -Be 0.5
        $r.History | Select-Object -Skip 1 | ForEach-Object { [double]::IsNaN($_.EstimatedFscShell) | Should -BeFalse }
        # Volume is the FSC-weighted combination, FourierBesselVolume the plain mean of the halves.
        $r.Volume.Name | Should -Match 'FSC-weighted'
        ($r | Out-String) | Should -Match '\('
    }

    It 'holds patches out, chooses the returned map by their log-likelihood and marches adaptively' {
        $r = $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init -EllMax 1, 2 -RotationCount 10 -MaxIterations 2 -Seed 1 -HeldOutFraction 0.2 -Marching Adaptive
        $r.HeldOutCount | Should -Be ([math]::Floor(0.2 * $script:Patches.Count))
        $r.Marching | Should -Be 'Adaptive'
        $r.History | ForEach-Object { [double]::IsNaN($_.HeldOutLogLikelihoodPerPatch) | Should -BeFalse }
        $r.History[0].PatchCount | Should -Be ($script:Patches.Count - $r.HeldOutCount)
        $best = ($r.History | Where-Object Iteration -gt 0 | Measure-Object HeldOutScore -Maximum).Maximum
        $r.BestIteration.HeldOutScore | Should -Be $best
        $r.StagesRun | Should -BeIn 1, 2
        $r.StageResultRows.Count | Should -Be 2
        ($r.History | Out-String -Width 250) | Should -Match 'Held-out'
    }

    It 'refuses a checkpoint from a different problem' {
        $ck = Join-Path $TestDrive 'other.ckpt'
        $null = $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init -EllMax 2 -RotationCount 10 -MaxIterations 1 -Seed 1 -CheckpointPath $ck
        Test-Path $ck | Should -BeTrue
        { $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init -EllMax 2 -RotationCount 10 -MaxIterations 1 -Seed 2 -CheckpointPath $ck -Resume } |
            Should -Throw -ErrorId 'CheckpointMismatch,CryoEmPS.Commands.InvokeApproxEmCommand'
    }

    It 'resumes after SIGKILL to bit-identical coefficients' {
        $ck = Join-Path $TestDrive 'kill.ckpt'
        $common = "-EllMax 2,4 -RotationCount 150 -StochasticFactor 1,0.5 -MaxIterations 4,4 -Seed 21 -ThrottleLimit 2"
        $full = $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init -EllMax 2, 4 -RotationCount 150 -StochasticFactor 1, 0.5 -MaxIterations 4, 4 -Seed 21 -ThrottleLimit 2

        # The child rebuilds the same patches and volume from this file's helpers, then runs with a checkpoint.
        $helpers = Join-Path $TestDrive 'child.ps1'
        $src = (Get-Content -Raw $PSCommandPath)
        $fnStart = $src.IndexOf('    function New-TestPatchSet'); $fnEnd = $src.IndexOf('    $script:Patches = New-TestPatchSet')
        @"
Import-Module '$($script:ModulePath)' -Force
Add-Type -LiteralPath '$(Join-Path (Split-Path $script:ModulePath) 'CryoEmPS.Core.dll')'
$($src.Substring($fnStart, $fnEnd - $fnStart))
`$p = New-TestPatchSet; `$i = New-TestVolume
`$null = `$p | Invoke-ApproxEm -InitialVolume `$i $common -CheckpointPath '$ck'
"@ | Set-Content -LiteralPath $helpers
        $pwshLine = Get-ChildPwsh
        $exe = $pwshLine[0]
        $argList = @($pwshLine | Select-Object -Skip 1)
        $argList += '-NoProfile', '-NonInteractive', '-File', $helpers
        $child = Start-Process -FilePath $exe -ArgumentList $argList -PassThru
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        while (-not (Test-Path $ck) -and -not $child.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $child.HasExited | Should -BeFalse -Because 'the child must still be running when the first checkpoint appears'
        $child.Kill()   # SIGKILL on Unix
        $child.WaitForExit()

        $resumed = $script:Patches | Invoke-ApproxEm -InitialVolume $script:Init -EllMax 2, 4 -RotationCount 150 -StochasticFactor 1, 0.5 -MaxIterations 4, 4 -Seed 21 -ThrottleLimit 1 -CheckpointPath $ck -Resume
        $resumed.Resumed | Should -BeTrue
        ($resumed.Coefficients -join ',') | Should -Be ($full.Coefficients -join ',')
        ($resumed.History.LogLikelihood -join ',') | Should -Be ($full.History.LogLikelihood -join ',')
    }
}
