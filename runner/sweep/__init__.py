"""Templated sweeps: one scenario over a grid of weathers, maps, seeds, ... (issue 11).

A sweep file is a jinja2 scenario template (`*.yaml.j2`) whose grid sits in a
`{# sweep: ... #}` comment at its top (or in `<stem>.sweep.yaml` beside it):

    {# sweep:
      name: weather_x_maps          # default: the file's stem
      seed: 7                       # master seed
      grid:                         # product; the first key varies slowest
        weather: [ClearNoon, HardRainNoon, WetCloudySunset]
        map: [GridTown, CrossTown]
        seed: 1..3                  # inclusive range (also 0..1:0.25, {from:, to:, step:})
      zip:                          # lists that move together form one axis
        spawn_point: [0, 4]
        fixed_delta_seconds: [0.05, 0.1]
      exclude:                      # drop the points that match every key of a rule
        - {weather: HardRainNoon, map: CrossTown}
    #}
    map: {{ map }}
    weather: {{ weather }}
    seed: {{ variant.seed }}
    ...

Templates render in jinja2's sandbox with `StrictUndefined`, `trim_blocks` and
`lstrip_blocks`. Variables: every plain-named parameter, `variant` (`name`,
`label`, `seed`, `params`) and `sweep` (`name`, `seed`). A dotted parameter
(`actors.vehicles.count`) is applied to the rendered scenario as an override, as is
every parameter of a plain scenario file swept with `--grid`. A parameter named
`seed` is a replicate label; the scenario's seed is the variant seed
(`runner.sweep.variants`), derived from the master seed and the parameters, and is
put in the scenario unless the template sets `seed:` itself.

Every variant is rendered and validated before any runs; a problem names the
variant, the template's file:line:column and the rendered line (`runner.sweep.template`
says how rendered lines map back). Modules:

    sweepfile  the sweep spec (header or sidecar)      grid      axes, ranges, exclude
    template   sandboxed rendering, line mapping        variants  names, folders, seeds
    overrides  --set PATH=VALUE                         resolve   file -> validated variants
    index      folders, outcomes, resume, sweep.json    state     shared executor bookkeeping
    executor   local worker processes                   worker    one variant in a process
    ray        Ray tasks (optional extra `ray`)         console   progress and summary table
    listing    `scenario plan SWEEP`                    cli       the `sweep` subcommand
"""
