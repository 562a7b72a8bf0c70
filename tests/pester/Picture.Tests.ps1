BeforeAll { . (Join-Path $PSScriptRoot 'Common.ps1') }

Describe 'Export-EmPicture' {
    It 'writes a PNG of a <Name>' -ForEach @(
        @{ Name = 'Volume'; Make = { New-EmVolume -Phantom -Size 9 } }
        @{ Name = 'Micrograph'; Make = { New-Micrograph -Volume (New-EmVolume -Phantom -Size 9) -Size 90 -ParticleCount 4 -Snr 2 -Seed 1 } }
        @{ Name = 'ImageStack'; Make = { Get-EmProjection -Volume (New-EmVolume -Phantom -Size 9) -Rotation (New-RotationSet -Count 5) } }
        @{ Name = 'FourierBesselVolume'; Make = { New-EmVolume -Phantom -Size 9 | ConvertTo-FourierBessel -EllMax 4 } }
    ) {
        $path = Join-Path $TestDrive "$Name.png"
        $file = & $Make | Export-EmPicture -Path $path -PassThru
        $file.Length | Should -BeGreaterThan 60
        $bytes = [IO.File]::ReadAllBytes($path)
        $bytes[1..3] | Should -Be @(0x50, 0x4E, 0x47)
    }
    It 'refuses to overwrite without -Force, and writes nothing with -WhatIf' {
        $path = Join-Path $TestDrive 'p.png'
        New-EmVolume -Phantom -Size 9 | Export-EmPicture -Path $path
        { New-EmVolume -Phantom -Size 9 | Export-EmPicture -Path $path } | Should -Throw -ErrorId 'PictureFileAlreadyExists*'
        New-EmVolume -Phantom -Size 9 | Export-EmPicture -Path (Join-Path $TestDrive 'w.png') -WhatIf
        Test-Path (Join-Path $TestDrive 'w.png') | Should -BeFalse
    }
    It 'refuses two objects for one file and writes nothing' {
        $path = Join-Path $TestDrive 'two.png'
        { (New-EmVolume -Phantom -Size 9), (New-EmVolume -Phantom -Size 9) | Export-EmPicture -Path $path } | Should -Throw -ErrorId 'PictureMultipleInputs*'
        Test-Path $path | Should -BeFalse
    }
    It 'refuses objects it cannot draw and bad percentiles' {
        { 'text' | Export-EmPicture -Path (Join-Path $TestDrive 'x.png') } | Should -Throw -ErrorId 'PictureUnsupportedType*'
        { New-EmVolume -Phantom -Size 9 | Export-EmPicture -Path (Join-Path $TestDrive 'y.png') -Percentile 90, 10 } | Should -Throw -ErrorId 'PictureInvalidPercentile*'
        Test-Path (Join-Path $TestDrive 'x.png') | Should -BeFalse
    }
}
