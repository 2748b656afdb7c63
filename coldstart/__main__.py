from coldstart.cli.main import main

raise SystemExit(main())
