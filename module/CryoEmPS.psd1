@{
    RootModule           = 'CryoEmPS.dll'
    ModuleVersion        = '0.0.0'
    GUID                 = '6f1f7c56-8d51-4d2f-9a35-2f0b7b1e7a11'
    Author               = 'CryoEmPS developers'
    CompanyName          = 'CryoEmPS'
    Copyright            = '(c) CryoEmPS developers. MIT licence.'
    Description          = 'Cryo-EM reconstruction directly from micrographs, without particle picking: approximate EM over patch shifts and rotations with a Fourier-Bessel volume model.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('CryoEmPS.format.ps1xml')
    CmdletsToExport      = @(
        'Import-EmVolume'
        'Export-EmVolume'
        'Resize-EmVolume'
        'New-EmVolume'
        'New-RotationSet'
        'Get-EmProjection'
        'Export-EmImageStack'
        'Import-EmImageStack'
        'Import-StarFile'
        'New-Micrograph'
        'Import-Micrograph'
        'Export-Micrograph'
        'Export-ParticleCoordinate'
        'Get-PatchSet'
        'Measure-Fsc'
        'Measure-FourierBesselCeiling'
        'ConvertTo-FourierBessel'
        'ConvertFrom-FourierBessel'
        'Invoke-ApproxEm'
        'Export-EmPicture'
        'New-EmCtf'
        'Import-EmCtf'
        'Set-MicrographCtf'
        'Resize-Micrograph'
        'Measure-NoiseSpectrum'
        'Edit-Micrograph'
        'Get-EmMpiRank'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('cryo-EM', 'cryoEM', 'electron-microscopy', 'reconstruction', 'expectation-maximization', 'RELION', 'MRC',
                'structural-biology', 'Linux', 'PSEdition_Core')
            # The public repository's address (placeholder until the project is published; the LICENSE file ships in the module).
            ProjectUri   = 'https://github.com/cryoemps/CryoEmPS'
            LicenseUri   = 'https://github.com/cryoemps/CryoEmPS/blob/main/LICENSE'
            ReleaseNotes = @'
0.1.0
- Reconstruction directly from micrographs by the approximate EM with frequency marching (Invoke-ApproxEm).
- Charts (ScottPlot 5) with Export-EmPicture: FSC curves in 1/Å, the EM history (-History), micrographs and patch sets
  with boxes, labelled volume panels with a scale bar.
- RELION both ways: Import-StarFile; Import-EmImageStack reads a particle .star with its rotations;
  Export-ParticleCoordinate writes the RELION 3.1+ layout (data_optics) or one coordinate file per micrograph.
- The pixel size travels from the micrograph to the patch set, the EM's volume, the MRC header and the FSC.
- Seeds use one specified generator (xoshiro256** seeded by SplitMix64), so seeded outputs no longer depend on the
  .NET version; every seeded output changed once with this release.
- Needs FFTW 3 and OpenBLAS on Linux (see README).
'@
        }
    }
}
